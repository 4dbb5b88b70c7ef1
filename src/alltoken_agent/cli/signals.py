"""Ctrl-C (SIGINT) and SIGTERM stop a command the same way: by cancelling it.

A process manager, ``timeout``, ``docker stop`` or a host agent ends a child with
SIGTERM, whose default action kills the process on the spot: no ``finally`` block
runs, so the request in flight is never recorded in the ledger and ``--usage-file``
is never written. :func:`run_interruptible` turns both signals into a cancellation
of the command's task instead, exactly what :func:`asyncio.run` does for the first
Ctrl-C, so every cleanup path (the gateway's ``cancelled`` ledger row, a session's
committed steps, a media job's resume hint) runs for both. A second signal while
that cleanup runs stops waiting for it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

HANDLED_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
"""The signals that cancel a running command instead of killing the process."""


class InterruptedBySignal(KeyboardInterrupt):
    """The command was stopped by a signal (Ctrl-C's SIGINT, or SIGTERM).

    A ``KeyboardInterrupt`` so that code which already treats Ctrl-C as "stop now"
    treats SIGTERM alike.

    Args:
        signum: The signal's number.
    """

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        """``SIGINT`` or ``SIGTERM``."""
        self.exit_code = 128 + signum
        """The shell's convention for a process ended by this signal: 130, 143."""
        super().__init__(f"interrupted by {self.signal_name}")

    def __str__(self) -> str:
        return f"interrupted by {self.signal_name}"


def run_interruptible(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main()`` in a new event loop; SIGINT or SIGTERM cancels it.

    The cancellation reaches ``main`` as ``asyncio.CancelledError`` at the point
    it was waiting, so its cleanup runs before this returns.

    Raises:
        InterruptedBySignal: A handled signal arrived while ``main`` ran (also
            when ``main`` swallowed the cancellation: the user asked to stop).
        KeyboardInterrupt: Ctrl-C arrived before or after the handlers were in place.
    """
    received: list[int] = []
    try:
        asyncio.run(_guarded(main, received))
    except asyncio.CancelledError:
        # The signal came as main was returning: the cancel landed on the way out.
        if not received:
            raise
    if received:
        raise InterruptedBySignal(received[0])


async def _guarded(main: Callable[[], Coroutine[Any, Any, None]], received: list[int]) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None  # we are the task asyncio.run made

    def on_signal(signum: int) -> None:
        if signal.getsignal(signum) is not ours.get(signum):
            # Code running inside the command took the signal over with its own
            # handler (uvicorn does, to shut down gracefully, and raises it again
            # once done); asyncio's wake-up pipe still tells us, but it is not ours.
            return
        received.append(signum)
        if len(received) == 1 and not task.done():
            task.cancel()
            return
        raise InterruptedBySignal(signum)  # second signal: stop waiting for the cleanup

    installed = _install(loop, on_signal)
    ours: dict[int, Any] = {signum: signal.getsignal(signum) for signum in installed}
    try:
        await main()
    except asyncio.CancelledError:
        if not received:
            raise  # cancelled by something else: not ours to explain
    finally:
        _uninstall(loop, installed)


def _install(
    loop: asyncio.AbstractEventLoop, on_signal: Callable[[int], None]
) -> dict[signal.Signals, Any]:
    """Route the handled signals to ``on_signal``; return the handlers they had before."""
    installed: dict[signal.Signals, Any] = {}
    for signum in HANDLED_SIGNALS:
        try:
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN:
                continue  # started as `nohup` or a background job: the signal is not for us
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            # Windows' loops have no signal handlers, and only the main thread may set
            # them (a test runner's worker thread): Ctrl-C keeps asyncio.run's handling.
            continue
        installed[signum] = previous
    return installed


def _uninstall(loop: asyncio.AbstractEventLoop, installed: dict[signal.Signals, Any]) -> None:
    for signum, previous in installed.items():
        loop.remove_signal_handler(signum)
        # remove_signal_handler leaves the default action; put back what was there
        # (asyncio.run's own Ctrl-C handler, a test runner's SIGTERM handler).
        if previous is not None:
            signal.signal(signum, previous)

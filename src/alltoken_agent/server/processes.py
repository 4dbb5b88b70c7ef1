"""Several server processes on one listening socket: ``alltoken-agent serve --processes N``.

One Python process relays its streams on one core. With ``N`` processes the parent binds
the socket once (so port 0 and the printed address work as with one), then starts ``N``
workers that each serve that same socket; the kernel hands each new connection to
whichever worker accepts it first. The workers are replicas on one store, and coordinate
the way replicas on several machines do: a session's turn holds a lease in the store (a
second message on another worker gets 409 with Retry-After), a media job holds a lease
renewed while it runs, and file links are signed with a key kept in the store.

Workers are spawned (a fresh interpreter each), not forked: the parent may hold threads
and open database connections, which a fork would copy half-way.

The parent, :func:`supervise`:

- waits until every worker says it serves, then announces the address (``announce``);
- on SIGTERM or SIGINT sends SIGTERM to every worker (each then drains its runs as one
  server does, for ``shutdown_grace``) and waits for them; a worker still running past
  ``stop_timeout`` is killed. It returns 0 when every worker stopped cleanly. The
  terminal sends Ctrl-C to the whole process group, so a worker gets that SIGINT too,
  at times after its parent's SIGTERM: its first SIGINT is one more graceful stop, a
  second one (Ctrl-C again) cancels its runs at once (``runner.AppServer``).
- replaces a worker that ends while the server is not stopping (killed, out of memory):
  the other workers keep their streams, and the dead worker's session leases and media
  jobs are taken over at once (their holder names a process that is gone). Replacing
  beats stopping everything: one crashed worker costs its own streams only.
- stops everything when a worker ends before it is ready (a bad setting, an unreachable
  store or gateway): starting it again would fail the same way. It then returns that
  worker's exit code (1 when it was killed). More than :data:`MAX_RESTARTS`
  replacements within :data:`RESTART_WINDOW` seconds also stop everything, with 1.

No worker outlives the parent: each watches a pipe the parent holds, which closes when
the parent ends however it ends (SIGKILL too), and then shuts itself down gracefully.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Final

MAX_RESTARTS: Final = 10
"""Replacements of crashed workers allowed within :data:`RESTART_WINDOW` seconds."""

RESTART_WINDOW: Final = 60.0

_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class WorkerSlot:
    """What a worker is told about itself: its number, the count, a pipe to say it is ready."""

    index: int
    """1 to ``count``; a replacement gets the number of the worker it replaces."""
    count: int
    _ready: Connection

    @property
    def tag(self) -> str:
        """``process 2/4``: put in front of the worker's log lines."""
        return f"process {self.index}/{self.count}"

    def ready(self) -> None:
        """Tell the parent this worker serves (call once, after the server started)."""
        try:
            self._ready.send_bytes(b"ready")
            self._ready.close()
        except OSError:  # the parent is gone: the watcher stops this worker
            pass


WorkerTarget = Callable[..., None]
"""``target(sock, slot, *args)``: serves ``sock`` until SIGTERM, calling ``slot.ready()``
once serving. It runs in the worker, so it must be a module-level function."""


def tagged_log_config(config: dict[str, Any], tag: str) -> dict[str, Any]:
    """A copy of a ``logging.config`` dict whose formats start with ``[tag]``.

    Each worker's lines (uvicorn's access lines too) then say which process wrote them.
    The package's own warnings (the ``alltoken_agent`` logger, which Python's last-resort
    handler would print bare) go to the config's ``default`` handler, so they carry it too.
    """
    tagged = copy.deepcopy(config)
    loggers = tagged.setdefault("loggers", {})
    if "default" in tagged.get("handlers", {}) and "alltoken_agent" not in loggers:
        loggers["alltoken_agent"] = {
            "handlers": ["default"],
            "level": "WARNING",
            "propagate": False,
        }
    for formatter in tagged.get("formatters", {}).values():
        fmt = formatter.get("fmt") or formatter.get("format")
        if isinstance(fmt, str):
            key = "fmt" if "fmt" in formatter else "format"
            if "%(levelprefix)s " in fmt:
                formatter[key] = fmt.replace("%(levelprefix)s ", f"%(levelprefix)s [{tag}] ", 1)
            else:
                formatter[key] = f"[{tag}] {fmt}"
    return tagged


def _worker_main(target: WorkerTarget, sock: socket.socket, slot: WorkerSlot, args: Any) -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        watcher = threading.Thread(
            target=_stop_when_parent_ends, args=(parent.sentinel,), name="parent-watch"
        )
        watcher.daemon = True
        watcher.start()
    target(sock, slot, *args)


def _stop_when_parent_ends(sentinel: int) -> None:
    wait([sentinel])
    # The same graceful stop as the parent's SIGTERM: runs drained, connections closed.
    os.kill(os.getpid(), signal.SIGTERM)


class _Worker:
    def __init__(
        self, index: int, count: int, target: WorkerTarget, sock: socket.socket, args: Any
    ) -> None:
        self.index = index
        reader, writer = _SPAWN.Pipe(duplex=False)
        self.ready_pipe: Connection | None = reader
        self.ready = False
        slot = WorkerSlot(index, count, writer)
        self.process: BaseProcess = _SPAWN.Process(
            target=_worker_main, args=(target, sock, slot, args), name=f"server-{slot.tag}"
        )
        self.process.start()
        writer.close()  # the worker holds its own copy; EOF here means it ended

    @property
    def alive(self) -> bool:
        return self.process.exitcode is None

    def read_ready(self) -> None:
        assert self.ready_pipe is not None
        try:
            self.ready_pipe.recv_bytes()
            self.ready = True
        except (EOFError, OSError):
            pass
        self.ready_pipe.close()
        self.ready_pipe = None

    def signal(self, signum: int) -> None:
        if self.alive:
            try:
                os.kill(self.process.pid or 0, signum)
            except ProcessLookupError:
                pass

    def describe_end(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"killed by {name}"
        return f"exit code {code}"


def supervise(
    count: int,
    sock: socket.socket,
    target: WorkerTarget,
    args: Sequence[Any] = (),
    *,
    stop_timeout: float,
    announce: Callable[[], None] = lambda: None,
) -> int:
    """Serve ``sock`` with ``count`` worker processes until SIGTERM or SIGINT.

    Call it from the main thread (it handles SIGTERM and SIGINT while it runs).

    Args:
        count: How many workers (at least 1).
        sock: A listening socket (``bind_socket``), shared by every worker.
        target: The worker's body (see :data:`WorkerTarget`).
        args: More arguments for ``target``; pickled to each worker.
        stop_timeout: Seconds workers get to stop after SIGTERM before being killed.
        announce: Called once, when every worker first said it is ready.

    Returns:
        The exit code for the whole server: 0 when stopped by a signal and every worker
        stopped cleanly.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    woken, wake = socket.socketpair()
    woken.setblocking(False)
    wake.setblocking(False)
    handlers = {sig: signal.signal(sig, _noted) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(wake.fileno())
    workers: list[_Worker] = []
    try:
        for index in range(1, count + 1):  # one by one: the finally stops those started
            workers.append(_Worker(index, count, target, sock, tuple(args)))
        return _Supervisor(workers, count, target, sock, tuple(args), announce).run(
            woken, stop_timeout
        )
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for worker in workers:  # only left running when the parent itself failed
            worker.signal(signal.SIGKILL)
            worker.process.join(5)
        woken.close()
        wake.close()


def _noted(signum: int, frame: object) -> None:
    """A no-op: the wake-up fd carries the signal to the supervisor's wait."""


class _Supervisor:
    def __init__(
        self,
        workers: list[_Worker],
        count: int,
        target: WorkerTarget,
        sock: socket.socket,
        args: tuple[Any, ...],
        announce: Callable[[], None],
    ) -> None:
        self.workers = workers
        self.count = count
        self.target = target
        self.sock = sock
        self.args = args
        self.announce = announce
        self.announced = False
        self.stopping = False
        self.code = 0
        self.restarts: deque[float] = deque()

    def run(self, woken: socket.socket, stop_timeout: float) -> int:
        deadline: float | None = None
        killed = False
        while any(w.alive for w in self.workers):
            waitables: list[Any] = [woken]
            waitables += [w.process.sentinel for w in self.workers if w.alive]
            waitables += [w.ready_pipe for w in self.workers if w.ready_pipe is not None]
            left = None if deadline is None or killed else max(0.0, deadline - time.monotonic())
            seen = wait(waitables, left)
            if woken in seen:
                _drain(woken)
                if not self.stopping:
                    self._stop_all()
            for worker in list(self.workers):
                if worker.ready_pipe is not None and worker.ready_pipe in seen:
                    worker.read_ready()
                if worker.process.sentinel in seen:
                    worker.process.join()
                    self._ended(worker)
            if not self.announced and not self.stopping and all(w.ready for w in self.workers):
                self.announced = True
                self.announce()
            if self.stopping and deadline is None:
                deadline = time.monotonic() + stop_timeout
            if deadline is not None and not killed and time.monotonic() >= deadline:
                killed = True  # then only wait for them to end
                for worker in self.workers:
                    if worker.alive:
                        _say(f"{_name(worker, self.count)} did not stop in time; killing it")
                        worker.signal(signal.SIGKILL)
                        self.code = self.code or 1
        return self.code

    def _stop_all(self) -> None:
        self.stopping = True
        for worker in self.workers:
            # SIGTERM, not SIGINT: a worker that got Ctrl-C from the terminal too would
            # take a second SIGINT as "stop now, without draining".
            worker.signal(signal.SIGTERM)

    def _ended(self, worker: _Worker) -> None:
        code = worker.process.exitcode
        if self.stopping:
            if code not in (0, -signal.SIGTERM):
                self.code = self.code or 1
            return
        name = _name(worker, self.count)
        if not worker.ready:
            _say(f"{name} ended while starting ({worker.describe_end()}); stopping the server")
            self.code = code if code is not None and code > 0 else 1
            self._stop_all()
            return
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW:
            self.restarts.popleft()
        if len(self.restarts) >= MAX_RESTARTS:
            _say(
                f"{name} ended ({worker.describe_end()}); {MAX_RESTARTS} processes were "
                f"replaced in the last {RESTART_WINDOW:.0f} s, so stopping the server"
            )
            self.code = 1
            self._stop_all()
            return
        self.restarts.append(now)
        _say(f"{name} ended unexpectedly ({worker.describe_end()}); starting a new one")
        replacement = _Worker(worker.index, self.count, self.target, self.sock, self.args)
        self.workers[self.workers.index(worker)] = replacement


def _name(worker: _Worker, count: int) -> str:
    return f"server process {worker.index}/{count} (pid {worker.process.pid})"


def _say(message: str) -> None:
    print(f"alltoken-agent: {message}", file=sys.stderr, flush=True)


def _drain(woken: socket.socket) -> None:
    try:
        while woken.recv(64):
            pass
    except BlockingIOError:
        pass

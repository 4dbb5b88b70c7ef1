"""Serving the app with uvicorn, with a graceful shutdown that drains agent runs first.

On SIGTERM or Ctrl-C, :class:`AppServer` stops accepting connections, refuses new runs
and media jobs (503, and ``/healthz`` says ``draining``), gives the runs in flight
``shutdown_grace`` seconds to finish, then cancels the rest: each of their streams
ends with an ``error`` event (``server_shutdown``) and their finished steps are saved.
Media jobs still polling are stopped and stay ``pending`` in the journal, resumed when
the server starts again. Only then does uvicorn's own shutdown close the connections.
Ctrl-C a second time cancels the runs at once (their finished steps are still saved);
the rest of the stop, the store's last writes included, goes on as before.

While it serves, the process's garbage collector is tuned for many open streams (see
:func:`tune_collector`); its settings are put back when the last server stops.

Speed comes from uvicorn's optional C parts when they are installed (the ``server`` extra
brings them): httptools parses HTTP (``protocol.py``) and :func:`run` runs the server's
event loop on uvloop. Without them the server runs the same on h11 and asyncio's loop.
At start the server logs which ones it runs on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import threading
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, Final, Literal, TypeVar

import uvicorn
from fastapi import FastAPI

from alltoken_agent.server.context import ServerContext
from alltoken_agent.server.protocol import HttpParser, header_deadline_protocol

EventLoop = Literal["auto", "uvloop", "asyncio"]
"""Which event loop :func:`run` uses: ``auto`` is uvloop when installed, else asyncio's."""

_T = TypeVar("_T")

logger = logging.getLogger("uvicorn.error")
"""Uvicorn's own: the line saying what the server runs on sits with its start-up lines."""

CONNECTION_GRACE: Final = 5
"""Seconds uvicorn waits for responses after the runs are drained."""


LISTEN_BACKLOG: Final = 2048
"""Uvicorn's default backlog."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port, read back with getsockname).

    It listens at once, before uvicorn starts: a client that connects as soon as the
    address is announced waits in the backlog instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it each small SSE event may wait ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


GC_THRESHOLDS: Final = (2_000, 50, 100)
"""The collector's thresholds while serving (Python's defaults are 700, 10, 10).

Profiled with hundreds of open streams, the defaults spent about a fifth of the server's
CPU in collections and paused the loop for up to half a second in full ones: every
stream keeps a few hundred objects alive, so young objects kept reaching the older
generations and full passes walked them all again.

A young pass comes when allocations minus deallocations pass 2,000. At 500 open streams
old objects die about as fast as new ones are made, so that count grows slowly while
the young objects pile up: at 10,000 a young pass came late and walked 50,000 objects
or more, 34 ms at p90 (up to 43) on the event loop. At 2,000 it takes at most about
12 ms, for a fifth more collector CPU in all. A middle pass comes after 50 young ones
(as often, in allocations, as after 10 of 10,000), a full one after 100 middle ones
(bench/README.md, ``server_load.py``)."""

_tuned: list[tuple[int, int, int]] = []
"""The thresholds found by the first server of this process to tune the collector, once
per server still running (servers in threads of one process, as in tests, share it)."""
_tuning = threading.Lock()


def tune_collector() -> None:
    """Tune the garbage collector for serving (undone by :func:`restore_collector`).

    What start-up loaded (modules, the app, its routes and schemas) is frozen: it lives
    as long as the process, so no later pass walks it again. It is not collected first:
    a full pass over a large process (a test run's) costs more than the little garbage
    it would free once.
    """
    with _tuning:
        if not _tuned:
            gc.freeze()
            previous = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)
        else:
            previous = _tuned[0]
        _tuned.append(previous)


def restore_collector() -> None:
    """Put back the collector's settings once the last server that tuned it stops."""
    with _tuning:
        if not _tuned:
            return
        previous = _tuned.pop()
        if not _tuned:
            gc.set_threshold(*previous)
            gc.unfreeze()


def uvicorn_config(app: FastAPI, *, http: HttpParser = "auto", **kwargs: Any) -> uvicorn.Config:
    """Uvicorn's settings for the app: no server header, a short connection grace.

    HTTP/1.1 is parsed by ``http``: httptools when installed (``auto``), else h11, with
    a deadline for each request's headers (the app's ``header_timeout``): a client that
    sends them too slowly gets 408 and is cut off. The app has no WebSocket routes, so
    an upgrade is never handed to a WebSocket protocol.
    """
    context = getattr(getattr(app, "state", None), "server", None)
    timeout = context.options.header_timeout if isinstance(context, ServerContext) else None
    settings: dict[str, Any] = {
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": CONNECTION_GRACE,
        "log_config": None,
        "ws": "none",
        "http": http if timeout is None else header_deadline_protocol(timeout, http),
        **kwargs,
    }
    return uvicorn.Config(app, **settings)


def run(main: Coroutine[Any, Any, _T], *, loop: EventLoop = "auto") -> _T:
    """Run ``main`` (a server's whole life) on a new event loop, as ``asyncio.run`` does.

    The loop is uvloop's when installed (``auto``): with hundreds of open streams the
    loop's own work (socket wake-ups, writes, timers) is a large part of the server's CPU,
    and uvloop does it in C.

    Raises:
        ImportError: ``loop="uvloop"`` without uvloop installed.
    """
    if loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                main.close()  # never awaited: no warning about it
                raise
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def running_on(config: uvicorn.Config) -> str:
    """What a started server parses HTTP with and which event loop it runs on, in words."""
    protocol = getattr(config, "http_protocol_class", None)
    names = {"HttpToolsProtocol": "httptools", "H11Protocol": "h11"}
    parser = next(
        (
            names[base.__name__]
            for base in getattr(protocol, "__mro__", ())
            if base.__name__ in names
        ),
        getattr(protocol, "__name__", str(config.http)),
    )
    loop = type(asyncio.get_running_loop()).__module__.split(".", 1)[0]
    return f"HTTP/1.1 parsed by {parser}, event loop {loop}"


class AppServer(uvicorn.Server):
    """uvicorn's server, draining the app's agent runs before its own shutdown.

    Example:
        ```python
        app = create_app(gateway, store, options=options)
        sock = bind_socket("127.0.0.1", 0)
        await AppServer(uvicorn_config(app)).serve(sockets=[sock])
        ```
    """

    def __init__(
        self, config: uvicorn.Config, *, on_started: Callable[[], None] | None = None
    ) -> None:
        super().__init__(config)
        self._interrupts = 0
        """SIGINTs seen: the second one hurries the stop (:meth:`handle_exit`)."""
        app = config.app
        context = getattr(getattr(app, "state", None), "server", None)
        if not isinstance(context, ServerContext):
            raise TypeError("AppServer serves an app made by create_app()")
        self.context = context
        self._tuned = False
        # Called once the server listens and its app started: a worker of
        # ``serve --processes N`` tells its parent it is ready (server/processes.py).
        self._on_started = on_started

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Uvicorn's signal handler, without its "force quit".

        Uvicorn takes a SIGINT that comes once a stop began as "quit now": it skips the
        app's shutdown, which flushes the store (ledger rows queued for it would be
        lost) and prints a traceback of the cancelled lifespan. Here the first SIGINT is
        a graceful stop whatever came before it: a worker of ``serve --processes N``
        gets the terminal's Ctrl-C as well as its parent's SIGTERM, in either order, and
        even at once (a handler can run inside another, between two of its lines: so
        nothing here reads a flag the other signal sets). A second SIGINT (Ctrl-C
        pressed again) stops waiting for the runs in flight: they are cancelled at
        once, their finished steps saved, and the stop goes on.
        """
        if sig != signal.SIGINT:
            super().handle_exit(sig, frame)  # sets should_exit, never force_exit
            return
        self._interrupts += 1
        # Uvicorn raises the signals it caught again once it stopped (Ctrl-C then ends
        # the program as Python's own handler would): kept, where that list exists.
        caught = getattr(self, "_captured_signals", None)
        if isinstance(caught, list):
            caught.append(sig)
        self.should_exit = True

    @property
    def hurried(self) -> bool:
        """Whether Ctrl-C came twice: the runs in flight are not waited for."""
        return self._interrupts > 1

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the app and listen; then tune the collector for the streams to come."""
        await super().startup(sockets=sockets)
        if self.started:
            logger.info("alltoken-agent server: %s", running_on(self.config))
        if self.started and not self._tuned:
            tune_collector()
            self._tuned = True
        if self.started and self._on_started is not None:
            self._on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, drain the runs, stop the media jobs, then close the connections.

        Media jobs still running stay resumable in the journal (the next start resumes
        them); a file being saved is finished first.
        """
        for server in getattr(self, "servers", []):
            server.close()
        self.context.media.stopping = True
        await self.context.runs.drain(
            self.context.options.shutdown_grace, hurry=lambda: self.hurried
        )
        await self.context.media.stop()
        try:
            await super().shutdown(sockets=sockets)
        finally:
            if self._tuned:
                self._tuned = False
                restore_collector()

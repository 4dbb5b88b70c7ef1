"""Serve the simulator with uvicorn: in a background thread (tests) or in the foreground.

`SimulatorServer` binds a loopback socket itself (port 0 means "any free port", read
back after binding), runs uvicorn on it in a daemon thread, and stops it quickly: the
server's main loop is woken at once instead of polling every 100 ms.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
from types import TracebackType
from typing import Any, Final

import uvicorn

from alltoken_agent.simulator._constants import DIALECTS, LOOPBACK_HOSTS, Dialect
from alltoken_agent.simulator.app import create_app
from alltoken_agent.simulator.control import SimulatorState

START_TIMEOUT: Final = 10.0
"""Seconds `start()` waits for uvicorn before giving up."""

GRACEFUL_SHUTDOWN: Final = 2
"""Seconds uvicorn waits for in-flight responses (e.g. a stalled stream) on stop."""

GC_THRESHOLDS: Final = (2_000, 50, 100)
"""The collector's thresholds in a simulator process (Python's defaults: 700, 10, 10).

Each open stream keeps objects alive long enough to reach the older generations. At
the defaults, 12 s of 500 paced streams made six full passes, the longest 110-140 ms
with the loop paused all the while (~1.5 s of collection in all); at these, one full
pass of ~20 ms and ~0.6 s in all, the longest pause a middle pass of ~60 ms. The server
chose the same values for the same load (``server/runner.py``); bench/README.md,
``server_load.py``, has the runs.
"""

THREAD_PREFIX: Final = "alltoken-simulator-"
"""Name prefix of the threads background simulators run in (their logs are muted)."""


class _MuteBackgroundSimulators(logging.Filter):
    """Drop uvicorn's info lines logged from a background simulator's thread.

    uvicorn logs "Started/Finished server process" and "Shutting down" to the
    process-wide `uvicorn.error` logger, and every request to `uvicorn.access`
    whenever that logger has handlers (`access_log=False` alone does not stop it);
    an in-process simulator next to a real uvicorn server (`serve --offline`)
    would print its lifecycle lines twice and log its requests as the server's.
    Warnings and errors still come through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.threadName or ""
        return record.levelno >= logging.WARNING or not name.startswith(THREAD_PREFIX)


_MUTE: Final = _MuteBackgroundSimulators()


class _QuietConfig(uvicorn.Config):
    """uvicorn settings that leave the process's logging configuration alone.

    `uvicorn.Config` sets the levels of the shared `uvicorn.*` loggers and, with
    `access_log=False`, strips the access logger's handlers: done from a background
    simulator, that would silence or reconfigure a real server in the same process.
    """

    def configure_logging(self) -> None:
        # addFilter skips a filter already added, so many simulators add it once.
        logging.getLogger("uvicorn.error").addFilter(_MUTE)
        logging.getLogger("uvicorn.access").addFilter(_MUTE)


def _check(host: str, dialect: str) -> Dialect:
    if host not in LOOPBACK_HOSTS:
        raise ValueError(
            f"the simulator only binds loopback ({', '.join(sorted(LOOPBACK_HOSTS))}), not {host!r}"
        )
    for known in DIALECTS:
        if dialect == known:
            return known
    raise ValueError(f"unknown dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")


def _config(app: Any, *, background: bool = False, **kwargs: Any) -> uvicorn.Config:
    """Uvicorn's settings: its C parts where installed (the ``server`` extra), as ``serve``.

    HTTP is parsed by httptools when installed, else h11, in both modes, so the tests'
    simulator answers as the command's does. The command's own process runs on uvloop
    when installed: on a shared machine the simulator's CPU is taken from the client
    under test (``bench/server_load.py``: about 3 ms per streamed message of 40 chunks on
    h11 and asyncio's loop, about 2 ms on these). A simulator in a thread of another
    program keeps asyncio's loop: uvloop there would be a second loop implementation
    in one process for nothing.
    """
    factory = _QuietConfig if background else uvicorn.Config
    return factory(
        app,
        access_log=False,
        lifespan="off",
        http="auto",
        ws="none",
        loop="asyncio" if background else "auto",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        **kwargs,
    )


def _tune_collector() -> None:
    """Keep the collector's pauses short in a simulator process serving many streams.

    A pause of the simulator's loop reaches every client as the gateway's latency: the
    tests' and the benchmarks' figures included it. What start-up loaded (the app and
    AllToken's request models) lives as long as the process, so it is frozen out of
    every later pass.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _bind(host: str, port: int) -> socket.socket:
    """Bind a listening-ready TCP socket on a loopback host (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on accepted
    # sockets whose proto says TCP, and without it every response waits ~40 ms for a
    # delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening before the URL is printed: a client that connects as soon as it reads
        # it waits in the backlog instead of being refused while uvicorn starts up.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class _ThreadedUvicorn(uvicorn.Server):
    """uvicorn server whose main loop can be woken from another thread."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await super().startup(sockets=sockets)

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            if self._wake is not None:
                try:
                    await asyncio.wait_for(self._wake.wait(), 0.1)
                except asyncio.TimeoutError:
                    pass

    def request_stop(self) -> None:
        """Ask the server to exit, waking its loop (callable from any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop closed in between: it is exiting anyway
                pass


class SimulatorServer:
    """The simulator served by uvicorn in a daemon thread on a loopback port.

    Example:
        ```python
        with SimulatorServer("alltoken") as sim:
            client = openai.OpenAI(api_key="sk-test", base_url=sim.base_url)
        ```
    """

    def __init__(
        self,
        dialect: str = "alltoken",
        *,
        chunk_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        identify: bool = True,
    ) -> None:
        """Prepare the server; `start()` binds and serves.

        Args:
            dialect: `alltoken` or `tokenhub`.
            chunk_delay: Seconds between streamed events.
            host: Loopback host to bind.
            port: TCP port; 0 picks a free one.
            identify: Label every response as the simulator's (`create_app`); tests
                turn it off to let the simulator play a real gateway.

        Raises:
            ValueError: Non-loopback host or unknown dialect.
        """
        self._dialect = _check(host, dialect)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._state = SimulatorState()
        self._app = create_app(
            self._dialect, state=self._state, chunk_delay=chunk_delay, identify=identify
        )
        self._server: _ThreadedUvicorn | None = None
        self._thread: threading.Thread | None = None

    @property
    def dialect(self) -> Dialect:
        """Wire dialect served."""
        return self._dialect

    @property
    def state(self) -> SimulatorState:
        """The live simulator state (fault queue, request log, counters)."""
        return self._state

    @property
    def url(self) -> str:
        """Root URL, e.g. `http://127.0.0.1:PORT`.

        Raises:
            RuntimeError: The server is not running.
        """
        if self._port is None:
            raise RuntimeError("the simulator is not running; call start() first")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (`url` + `/v1`)."""
        return f"{self.url}/v1"

    def start(self) -> SimulatorServer:
        """Bind the port and serve; block until uvicorn accepts connections.

        Returns:
            This server.

        Raises:
            RuntimeError: Already running, or uvicorn failed to start.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        sock = _bind(self._host, self._requested_port)
        server = _ThreadedUvicorn(
            _config(self._app, background=True, log_level=None, log_config=None)
        )
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"{THREAD_PREFIX}{self._dialect}",
            daemon=True,
        )
        thread.start()
        while not server.started and thread.is_alive():
            thread.join(0.002)
        if not server.started:
            sock.close()
            raise RuntimeError("the simulator failed to start (see the uvicorn log)")
        self._server, self._thread = server, thread
        self._port = int(sock.getsockname()[1])
        return self

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.request_stop()
        thread.join(GRACEFUL_SHUTDOWN + 3)
        if thread.is_alive():  # a response still hangs: cut it
            server.force_exit = True
            thread.join(5)
        self._server = self._thread = None
        self._port = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "stopped"
        return f"SimulatorServer(dialect={self._dialect!r}, {where})"


def run(host: str, port: int, dialect: str, chunk_delay: float = 0.0) -> None:
    """Serve the simulator in the foreground until interrupted.

    Ctrl-C (SIGINT) shuts down cleanly and returns; SIGTERM shuts down cleanly and then
    ends the process (uvicorn re-raises it). uvicorn logs the listening URL at info level.

    Args:
        host: Loopback host to bind.
        port: TCP port (0 picks a free one; the URL is logged at info level).
        dialect: `alltoken` or `tokenhub`.
        chunk_delay: Seconds between streamed events.

    Raises:
        ValueError: Non-loopback host or unknown dialect.
        OSError: The port could not be bound (e.g. it is taken).
    """
    checked = _check(host, dialect)
    app = create_app(checked, chunk_delay=chunk_delay)
    _tune_collector()
    sock = _bind(host, port)  # bound here so a taken port is an OSError, not a sys.exit
    server = uvicorn.Server(_config(app, log_level="info"))
    bound = sock.getsockname()[1]
    where = f"[{host}]" if ":" in host else host
    logging.getLogger("uvicorn.error").info(
        "Simulator (%s dialect) running on http://%s:%d/v1 (Press CTRL+C to quit)",
        checked,
        where,
        bound,
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its clean shutdown
        pass
    finally:
        sock.close()

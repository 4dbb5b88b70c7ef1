"""The server under test: built by ``create_app`` and served by uvicorn on a loopback port.

Each server runs ``AppServer`` (the same class ``alltoken-agent serve`` runs) in a thread
with its own event loop, over a gateway pointed at the session's simulator with a
distinctive key, so tests can inject faults and scan responses for the key.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from pydantic import SecretStr

from alltoken_agent import Gateway, RetryPolicy
from alltoken_agent.server import AppServer, ServerOptions, bind_socket, create_app, uvicorn_config
from alltoken_agent.server._writer import WriterThread
from alltoken_agent.server.context import ServerContext
from alltoken_agent.store import Store

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_KEY = "sk-gateway-SECRET-0123456789abcdef0123"
KEY_A = "server-key-alice-0123456789abcdef"
KEY_B = "server-key-bob-0123456789abcdef00"
PG_URL_ENV = "ALLTOKEN_AGENT_TEST_PG_URL"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class ServerThread:
    """A running server: ``url``, its ``context``, and a ``stop()`` that shuts it down."""

    def __init__(self, app: Any, gateway: Gateway, store: Store) -> None:
        self.app = app
        self.gateway = gateway
        self.store = store
        self.context: ServerContext = app.state.server
        self._sock = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.server = AppServer(uvicorn_config(app, log_level="warning"))
        self._thread = threading.Thread(target=self._run, name="server-under-test", daemon=True)
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._thread.join(0.005)
        if not self.server.started:
            raise RuntimeError("the server did not start")

    def _run(self) -> None:
        async def main() -> None:
            try:
                await self.server.serve(sockets=[self._sock])
            finally:
                await self.gateway.aclose()

        asyncio.run(main())

    def stop(self, *, wait: bool = True) -> None:
        """Ask the server to shut down (gracefully) and, by default, wait until it has."""
        self.server.should_exit = True
        if wait:
            self.join()

    def join(self, timeout: float = 30) -> None:
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.store.close()

    def client(self, key: str | None = KEY_A, **kwargs: Any) -> httpx.Client:
        headers = auth(key) if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


MakeServer = Callable[..., ServerThread]


@pytest.fixture
def make_server(sim: Any, tmp_path: Path) -> Iterator[MakeServer]:
    """Start servers on the simulator: ``make_server(keys=..., **ServerOptions fields)``."""
    started: list[ServerThread] = []

    def make(
        *,
        keys: tuple[str, ...] | None = (KEY_A, KEY_B),
        store_url: str | None = None,
        retries: int = 0,
        **fields: Any,
    ) -> ServerThread:
        options = ServerOptions(keys=tuple(SecretStr(k) for k in keys or ()), **fields)
        gateway = Gateway(
            "alltoken",
            base_url=sim.base_url,
            api_key=GATEWAY_KEY,
            retry=RetryPolicy(max_retries=retries, base_delay=0, max_delay=0),
        )
        store = Store(store_url or f"sqlite:///{tmp_path / f'server-{len(started)}.db'}")
        server = ServerThread(create_app(gateway, store, options=options), gateway, store)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: MakeServer) -> ServerThread:
    """A server with keys A and B and generous limits."""
    return make_server(rate_limit_per_minute=6000, rate_limit_burst=1000)


def create_session(client: httpx.Client, **body: Any) -> str:
    response = client.post("/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    session_id = response.json()["id"]
    assert isinstance(session_id, str)
    return session_id


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database: $ALLTOKEN_AGENT_TEST_PG_URL, or a throwaway cluster.

    The cluster comes from scripts/postgres-for-tests (which installs PostgreSQL from
    Debian's packages when it is missing); the tests skip only when that cannot work,
    and fail instead under CI (``CI`` set), where a skipped replica test would hide a gap.
    """
    given = os.environ.get(PG_URL_ENV)
    if given:
        yield given
        return
    script = ROOT / "scripts" / "postgres-for-tests"
    if shutil.which("bash") is None:
        _unavailable("PostgreSQL tests need bash to run scripts/postgres-for-tests")
    folder = tempfile.mkdtemp(prefix="alltoken-pg-")
    started = subprocess.run(
        ["bash", str(script), "start", folder], capture_output=True, text=True, timeout=300
    )
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(
            f"PostgreSQL is not available and could not be started: {started.stderr.strip()} "
            f"(set {PG_URL_ENV} to use an existing database)"
        )
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(script), "stop", folder], capture_output=True, timeout=60)


WRITER_WAIT = 10.0
"""Seconds a writer-thread test waits on a job or an event before it fails."""


def hold_writer(writer: WriterThread) -> threading.Event:
    """Keep ``writer``'s thread busy until the returned event is set (jobs queue behind)."""
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        release.wait(WRITER_WAIT)

    writer.submit(hold)
    assert holding.wait(WRITER_WAIT)
    return release

"""The server on each HTTP parser and event loop: httptools and uvloop when installed, else h11.

The ``server`` extra brings httptools and uvloop, but ``serve`` must work without them, and
hostile bytes must end the same way whichever parser reads them: a clean 4xx (with the cost
headers) or an ordinary answer, the connection closed, never a 5xx or a failure in the log.
Each test here runs the app on the parser it names, through ``uvicorn_config(http=...)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from pydantic import SecretStr

from alltoken_agent import Gateway, RetryPolicy
from alltoken_agent.server import AppServer, ServerOptions, bind_socket, create_app, uvicorn_config
from alltoken_agent.server.protocol import (
    HeaderDeadlineProtocol,
    HttpParser,
    httptools_available,
)
from alltoken_agent.server.runner import GC_THRESHOLDS, EventLoop, run, running_on
from alltoken_agent.store import Store
from tests.server.conftest import GATEWAY_KEY, KEY_A, auth
from tests.server.test_messages import SSE

pytestmark = pytest.mark.slow  # many servers or processes: the full suite (CI) runs it

PARSERS = ["h11", "httptools"]


class ParsedServer:
    """The app served by ``AppServer`` on one parser and loop, in a thread."""

    def __init__(self, app: Any, gateway: Gateway, store: Store, http: str, loop: str) -> None:
        self.gateway = gateway
        self.store = store
        self.sock = bind_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = uvicorn_config(app, http=cast(HttpParser, http), log_level="warning")
        self.server = AppServer(self.config)
        self.running_on = ""
        self._thread = threading.Thread(target=self._run, args=(loop,), daemon=True)
        self._thread.start()
        while not self.running_on and self._thread.is_alive():
            self._thread.join(0.005)
        assert self.running_on, "the server did not start"

    def _run(self, loop: str) -> None:
        async def main() -> None:
            serving = asyncio.ensure_future(self.server.serve(sockets=[self.sock]))
            while not self.server.started and not serving.done():
                await asyncio.sleep(0.005)
            self.running_on = running_on(self.config)
            try:
                await serving
            finally:
                await self.gateway.aclose()  # its connections belong to this loop

        run(main(), loop=cast(EventLoop, loop))

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        self.store.close()

    def raw(self, data: bytes) -> bytes:
        """Send ``data`` on a new connection; everything the server answers until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(data)
            return _read_until_closed(sock)


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


MakeParsed = Callable[..., ParsedServer]


@pytest.fixture
def make_parsed(sim: Any, tmp_path: Path) -> Iterator[MakeParsed]:
    started: list[ParsedServer] = []

    def make(http: str, loop: str = "asyncio", **fields: Any) -> ParsedServer:
        if http == "httptools" and not httptools_available():
            pytest.skip("httptools is not installed (the server extra brings it)")
        if loop == "uvloop":
            pytest.importorskip("uvloop", reason="uvloop is not installed")
        options = ServerOptions(keys=(SecretStr(KEY_A),), **fields)
        gateway = Gateway(
            "alltoken",
            base_url=sim.base_url,
            api_key=GATEWAY_KEY,
            retry=RetryPolicy(max_retries=0, base_delay=0, max_delay=0),
        )
        store = Store(f"sqlite:///{tmp_path / f'parsed-{len(started)}.db'}")
        server = ParsedServer(
            create_app(gateway, store, options=options), gateway, store, http, loop
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def _head(reply: bytes) -> bytes:
    return reply.split(b"\r\n\r\n", 1)[0].lower()


def _assert_cost_headers(reply: bytes) -> None:
    head = _head(reply)
    assert b"\r\nx-request-cost: 0" in head and b"\r\nx-budget-remaining: unknown" in head, head


def _stream_a_message(server: ParsedServer) -> list[str]:
    with httpx.Client(base_url=server.url, headers=auth(KEY_A), timeout=30) as client:
        created = client.post("/v1/sessions", json={})
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        with client.stream(
            "POST", f"/v1/sessions/{session_id}/messages", json={"content": "hi"}, headers=SSE
        ) as response:
            assert response.status_code == 200
            lines = list(response.iter_lines())
    return [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]


# Which parser and loop


def test_the_default_is_httptools_when_installed_and_h11_can_be_asked_for(
    sim: Any, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'config.db'}")
    app = create_app(Gateway("alltoken", base_url=sim.base_url, api_key=GATEWAY_KEY), store)
    store.close()
    default = uvicorn_config(app)
    default.load()
    asked = uvicorn_config(app, http="h11")
    asked.load()
    assert issubclass(asked.http_protocol_class, HeaderDeadlineProtocol)
    if httptools_available():
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        assert issubclass(default.http_protocol_class, HttpToolsProtocol)
    else:
        assert issubclass(default.http_protocol_class, HeaderDeadlineProtocol)
    assert default.ws == "none"  # no WebSocket routes: an upgrade is never taken


@pytest.mark.slow
@pytest.mark.parametrize(
    ("http", "loop"), [("h11", "asyncio"), ("httptools", "asyncio"), ("httptools", "uvloop")]
)
def test_a_message_streams_on_each_parser_and_loop(
    make_parsed: MakeParsed, http: str, loop: str
) -> None:
    server = make_parsed(http, loop)
    assert server.running_on == f"HTTP/1.1 parsed by {http}, event loop {loop}"
    names = _stream_a_message(server)
    assert names[0] == "message:user" and "stream:delta" in names and names[-1] == "done"


def test_asking_for_uvloop_without_it_is_an_import_error_not_a_hang() -> None:
    code = (
        "import sys; sys.modules['uvloop'] = None\n"
        "from alltoken_agent.server.runner import run\n"
        "async def main(): return 1\n"
        "try:\n    run(main(), loop='uvloop')\nexcept ImportError:\n    print('refused')\n"
        "print(run(main(), loop='auto'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["refused", "1"], done.stderr


# Hostile bytes, on each parser


@pytest.mark.parametrize("http", PARSERS)
def test_bytes_that_are_not_http_get_400_with_the_cost_headers(
    make_parsed: MakeParsed, http: str
) -> None:
    reply = make_parsed(http).raw(b"THIS IS NOT HTTP\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    _assert_cost_headers(reply)


@pytest.mark.parametrize("http", PARSERS)
def test_an_http_1_1_request_without_host_gets_400(make_parsed: MakeParsed, http: str) -> None:
    reply = make_parsed(http).raw(b"GET /healthz HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 "), reply
    _assert_cost_headers(reply)


@pytest.mark.parametrize(("http", "status"), [("h11", b"400"), ("httptools", b"431")])
def test_headers_past_the_head_limit_are_refused_and_the_connection_closed(
    make_parsed: MakeParsed, http: str, status: bytes
) -> None:
    server = make_parsed(http)
    # 40 KiB of one header, never finished: past the 16 KiB limit, and nothing left unread.
    reply = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000)
    assert reply.startswith(b"HTTP/1.1 " + status + b" "), reply[:200]
    _assert_cost_headers(reply)
    with httpx.Client(base_url=server.url) as client:  # the server is fine for everyone else
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("http", PARSERS)
def test_headers_without_end_are_cut_off_not_kept(make_parsed: MakeParsed, http: str) -> None:
    server = make_parsed(http)
    sent = {"bytes": 0}
    piece = b"a" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:

        def flood() -> None:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
                for _ in range(1024):  # 64 MiB, far past any socket buffer
                    sock.sendall(piece)
                    sent["bytes"] += len(piece)
            except OSError:
                return  # the server closed the connection

        writer = threading.Thread(target=flood, daemon=True)
        writer.start()
        reply = _read_until_closed(sock)
        writer.join(60)
    assert sent["bytes"] < 64 * 1024 * 1024  # cut off long before the client was done
    assert reply == b"" or reply.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 431 ")), reply[:200]


AMBIGUOUS = {
    "content-length and chunked": b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 3"
    b"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two content-lengths": b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Content-Length: 3\r\n\r\n{}",
    "a bad chunk size": b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
    b"\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "a folded header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n",
    "bare line feeds": b"GET /healthz HTTP/1.1\nHost: x\n\n",
    "a nul in a header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "a space in a header name": b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
    "a path that is not ascii": b"GET /h\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
}
"""Bytes the two parsers may read differently (h11 takes a folded header, llhttp does not)."""


@pytest.mark.parametrize("http", PARSERS)
@pytest.mark.parametrize("case", list(AMBIGUOUS))
def test_ambiguous_requests_end_cleanly_on_either_parser(
    make_parsed: MakeParsed, http: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_parsed(http)
    with caplog.at_level(logging.ERROR):
        # The request, then one that closes: the connection ends whatever the parser made of it.
        reply = server.raw(
            AMBIGUOUS[case] + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    status = reply[9:12]
    assert reply.startswith(b"HTTP/1.1 ") and status[:1] in (b"2", b"4"), reply[:200]
    if status == b"400":
        _assert_cost_headers(reply)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("http", PARSERS)
def test_pipelined_requests_are_answered_in_order(make_parsed: MakeParsed, http: str) -> None:
    server = make_parsed(http)
    reply = server.raw(
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /v1/nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)
    assert statuses == [b"200", b"401"], reply


# The header deadline, on each parser


@pytest.mark.slow
@pytest.mark.parametrize("http", PARSERS)
def test_headers_too_slow_get_408_and_silence_a_close(make_parsed: MakeParsed, http: str) -> None:
    server = make_parsed(http, header_timeout=0.5)
    slow = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")  # never finished
    assert slow.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), slow
    _assert_cost_headers(slow)
    assert server.raw(b"") == b""  # nothing sent, nothing answered: only closed


@pytest.mark.slow
@pytest.mark.parametrize("http", PARSERS)
def test_a_request_under_way_outlives_the_header_deadline(
    make_parsed: MakeParsed, http: str, sim: Any
) -> None:
    """The deadline is for headers: a stream longer than it, then a second request, pass."""
    server = make_parsed(http, header_timeout=0.5)
    sim.state.enqueue_faults(["slow:1"])  # the answer takes twice the header deadline
    with httpx.Client(base_url=server.url, headers=auth(KEY_A), timeout=30) as client:
        session_id = client.post("/v1/sessions", json={}).json()["id"]
        first = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
        second = client.get(f"/v1/sessions/{session_id}")  # the same kept-alive connection
    assert first.status_code == 200, first.text
    assert second.status_code == 200


# uvloop: signals and the collector


_CHILD = """
import asyncio, gc, json, signal, sys
from alltoken_agent import Gateway
from alltoken_agent.server import AppServer, bind_socket, create_app, uvicorn_config
from alltoken_agent.server.runner import run, running_on
from alltoken_agent.store import Store

def interrupt(signum, frame):
    raise KeyboardInterrupt

class Server(AppServer):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)  # the collector is tuned by now
        print(running_on(self.config), flush=True)
        print(json.dumps(gc.get_threshold()), flush=True)

async def main():
    gateway = Gateway("alltoken", base_url="http://127.0.0.1:9/v1", api_key="unused")
    app = create_app(gateway, Store(sys.argv[1]))
    await Server(uvicorn_config(app, log_level="warning")).serve(
        sockets=[bind_socket("127.0.0.1", 0)]
    )

signal.signal(signal.SIGTERM, interrupt)  # as `serve` does: SIGTERM stops like Ctrl-C
before = gc.get_threshold()
try:
    run(main(), loop="uvloop")
except KeyboardInterrupt:
    pass
print("stopped", gc.get_threshold() == before, flush=True)
"""


@pytest.mark.slow
def test_on_uvloop_sigterm_stops_the_server_and_the_collector_is_tuned_then_restored(
    tmp_path: Path,
) -> None:
    pytest.importorskip("uvloop", reason="uvloop is not installed")
    script = tmp_path / "serve_on_uvloop.py"
    script.write_text(_CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 'child.db'}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        started = child.stdout.readline()
        thresholds = child.stdout.readline()
        child.terminate()  # SIGTERM
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert started.strip().endswith("event loop uvloop"), (started, err)
    assert json.loads(thresholds) == list(GC_THRESHOLDS), err
    assert out.split() == ["stopped", "True"], err
    assert child.returncode == 0, err

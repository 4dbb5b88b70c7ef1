"""An event stream's frames written straight to the connection on the httptools protocol.

``DirectBody`` (``_httptools_protocol.py``) writes the middle of a chunked reply as
uvicorn's ``send`` would, and declines whenever ``send`` would do anything else. The
first tests serve small ASGI apps on the real protocol (uvicorn, loopback) to pin each
case; then a paced reply streams through ``serve``, its deltas no longer passing through
the app's ``send`` while the client gets the same events; last, the stream's side
(``EventStreamResponse``, ``FrameWriter``) with a connection writer written here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from alltoken_agent import Gateway, RetryPolicy
from alltoken_agent.server import ServerOptions, bind_socket, create_app
from alltoken_agent.server._frame_writer import BODY_WRITER_SCOPE_KEY
from alltoken_agent.server.auth import Caller
from alltoken_agent.server.protocol import header_deadline_protocol, httptools_available
from alltoken_agent.server.runner import run
from alltoken_agent.server.runs import Run, RunEnd
from alltoken_agent.server.sse import KEEPALIVE, EventStreamResponse, delta_frame
from alltoken_agent.simulator import SimulatorServer
from alltoken_agent.store import Store
from tests.server.conftest import GATEWAY_KEY, KEY_A, ServerThread, create_session
from tests.server.test_messages import SSE

pytestmark = pytest.mark.skipif(
    not httptools_available(), reason="httptools is not installed (the server extra brings it)"
)

App = Callable[[dict[str, Any], Any, Any], Any]
BLOCK = 64 * 1024


class AppThread:
    """A bare ASGI app on uvicorn with our httptools protocol, on loopback, in a thread."""

    def __init__(self, app: App) -> None:
        sock = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app,
            http=header_deadline_protocol(30.0, "httptools"),
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: run(self.server.serve(sockets=[sock])), daemon=True
        )
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._thread.join(0.005)
        assert self.server.started, "the server did not start"

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)


@pytest.fixture
def serve_app() -> Iterator[Callable[[App], AppThread]]:
    started: list[AppThread] = []

    def serve(app: App) -> AppThread:
        started.append(AppThread(app))
        return started[-1]

    yield serve
    for server in started:
        server.stop()


async def _start(send: Any, *headers: tuple[bytes, bytes]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": list(headers)})


def test_a_chunked_reply_middle_is_written_in_order_with_its_sends(
    serve_app: Callable[[App], AppThread],
) -> None:
    said: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        write = scope[BODY_WRITER_SCOPE_KEY]
        said.append(write(b"early"))  # no reply yet: declined
        await _start(send)
        said.append(write(b"hello "))
        await send({"type": "http.response.body", "body": b"world", "more_body": True})
        said.append(write(b"!"))
        said.append(write(b""))  # nothing to write: left to send
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        said.append(write(b"late"))  # the reply is complete: declined

    server = serve_app(app)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        first = client.get("/")
        second = client.get("/")  # the connection is still good for the next request
    assert first.status_code == 200 and first.content == b"hello world!"
    assert first.headers["transfer-encoding"] == "chunked"
    assert second.content == b"hello world!"
    assert said == [False, True, True, False, False] * 2


def test_a_reply_with_a_length_or_to_head_is_left_to_send(
    serve_app: Callable[[App], AppThread],
) -> None:
    said: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        write = scope[BODY_WRITER_SCOPE_KEY]
        if scope["path"] == "/length":
            await _start(send, (b"content-length", b"5"))
        else:
            await _start(send)
        said.append(write(b"abcde"))
        await send({"type": "http.response.body", "body": b"abcde", "more_body": False})

    server = serve_app(app)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        sized = client.get("/length")
        head = client.head("/chunked")
    assert sized.content == b"abcde"
    assert head.status_code == 200 and head.content == b""
    assert said == [False, False]


def test_a_client_that_left_is_declined(serve_app: Callable[[App], AppThread]) -> None:
    said: list[bool] = []
    done = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        write = scope[BODY_WRITER_SCOPE_KEY]
        await _start(send)
        said.append(write(b"first"))
        while (await receive())["type"] != "http.disconnect":
            pass
        said.append(write(b"second"))
        done.set()

    server = serve_app(app)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        with client.stream("GET", "/") as response:
            assert next(response.iter_raw()) == b"first"
    assert done.wait(30)
    assert said == [True, False]


def test_a_client_that_does_not_read_makes_it_decline_and_send_waits_for_it(
    serve_app: Callable[[App], AppThread],
) -> None:
    declined = threading.Event()
    written: list[int] = []

    def block(i: int) -> bytes:
        return i.to_bytes(4, "big") * (BLOCK // 4)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        write = scope[BODY_WRITER_SCOPE_KEY]
        await _start(send)
        i = 0
        while write(block(i)):  # until the connection's buffers are full: paused
            i += 1
            assert i < 10_000, "writes were never paused"
            await asyncio.sleep(0)
        written.append(i)
        declined.set()
        # What was declined goes through send, which waits for the client to drain it.
        for j in range(i, i + 3):
            await send({"type": "http.response.body", "body": block(j), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    server = serve_app(app)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        with client.stream("GET", "/") as response:
            assert declined.wait(60)  # the client has read nothing yet
            body = response.read()
    total = written[0] + 3
    assert len(body) == total * BLOCK
    assert body == b"".join(block(i) for i in range(total))  # every block, in order


class BodySends:
    """ASGI middleware noting the body messages of message replies that pass through ``send``."""

    def __init__(self, app: Any, seen: list[bool]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not scope.get("path", "").endswith("/messages"):
            await self.app(scope, receive, send)
            return

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.body":
                self.seen.append(bool(message.get("more_body", False)))
            await send(message)

        await self.app(scope, receive, counted)


@pytest.fixture
def paced_sim() -> Iterator[Any]:
    """A simulator that sends one streamed event every 10 ms, as a model does."""
    with SimulatorServer("alltoken", identify=False, chunk_delay=0.01) as server:
        yield server


def _paced_server(sim: Any, path: Path, seen: list[bool]) -> ServerThread:
    gateway = Gateway(
        "alltoken",
        base_url=sim.base_url,
        api_key=GATEWAY_KEY,
        retry=RetryPolicy(max_retries=0, base_delay=0, max_delay=0),
    )
    store = Store(f"sqlite:///{path}")
    options = ServerOptions(keys=(SecretStr(KEY_A),), keepalive_interval=30.0)
    app = create_app(gateway, store, options=options)
    app.add_middleware(BodySends, seen=seen)  # outermost: it sees every send of the app
    return ServerThread(app, gateway, store)


def _stream(server: ServerThread, content: str) -> list[str]:
    with server.client() as client:
        session_id = create_session(client)
        with client.stream(
            "POST", f"/v1/sessions/{session_id}/messages", json={"content": content}, headers=SSE
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            return list(response.iter_lines())


def test_a_paced_reply_through_serve_reaches_the_client_without_a_send_per_delta(
    paced_sim: Any, tmp_path: Path
) -> None:
    words = [f"w{i}" for i in range(30)]
    seen: list[bool] = []
    server = _paced_server(paced_sim, tmp_path / "paced.db", seen)
    try:
        lines = _stream(server, "[[reply " + " ".join(words) + "]]")
    finally:
        server.stop()
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    deltas = [line for line in lines if line.startswith('data: {"event":"stream:delta"')]
    assert names[0] == "message:user" and names[-1] == "done"
    assert names.count("stream:delta") == len(deltas) >= len(words)
    assert "".join(line.split('"delta":"')[1].rstrip('"}') for line in deltas) == " ".join(words)
    # Only the reply's end went through the app's send: every event before it was written
    # to the connection directly (each of them used to be a body message of its own).
    assert seen == [False]


# The stream's side, on a real event loop with an ASGI ``send`` and a connection writer
# written here (as the protocol's: True written, False declined).


class Connection:
    """A connection's direct writer and its ASGI ``send``: what reached it, in order."""

    def __init__(self) -> None:
        self.wire: list[tuple[str, bytes]] = []
        self.paused = False
        self.broken = False

    def write(self, body: bytes) -> bool:
        if self.broken:
            raise OSError("the connection is gone")
        if self.paused:
            return False
        self.wire.append(("direct", body))
        return True

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            self.wire.append(("send", message["body"]))


async def _never_leaves() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def _frame(i: int) -> bytes:
    return delta_frame("stream:delta", f"w{i}")


def _stream_of(run: Run, connection: Connection, keepalive: float = 30.0) -> Any:
    response = EventStreamResponse(run, keepalive, {})
    scope = {"type": "http", BODY_WRITER_SCOPE_KEY: connection.write}
    return asyncio.ensure_future(response(scope, _never_leaves, connection.send))


def test_frames_events_and_keep_alives_go_direct_and_only_the_end_through_send() -> None:
    async def main() -> list[tuple[str, bytes]]:
        run = Run(Caller(owner=None), "s1", streaming=True)
        connection = Connection()
        stream = _stream_of(run, connection, keepalive=0.05)
        await asyncio.sleep(0.01)
        run.emit_frame(_frame(0))  # sent by the run's callback
        await asyncio.sleep(0.01)
        run.emit("tool:call", {"event": "tool:call"})  # sent by the stream's task
        await asyncio.sleep(0.1)  # quiet: a keep-alive
        connection.paused = True  # the client stops reading: declined, so through send
        run.emit_frame(_frame(1))
        await asyncio.sleep(0.01)
        connection.paused = False
        run.emit_frame(_frame(2))
        await asyncio.sleep(0.01)
        run.finish(RunEnd("done", {"event": "done"}, None, None, None))
        await stream
        return connection.wire

    wire = asyncio.run(main())
    assert wire[:2] == [
        ("direct", _frame(0)),
        ("direct", b'event: tool:call\ndata: {"event":"tool:call"}\n\n'),
    ]
    assert ("direct", KEEPALIVE) in wire and not any(b == KEEPALIVE for w, b in wire if w == "send")
    rest = [item for item in wire[2:] if item[1] != KEEPALIVE]
    assert rest == [
        ("send", _frame(1)),
        ("direct", _frame(2)),
        ("send", b'event: done\ndata: {"event":"done"}\n\n'),
    ]


def test_a_direct_write_that_fails_in_the_run_task_fails_the_stream_not_the_run() -> None:
    async def main() -> tuple[BaseException | None, list[dict[str, Any]]]:
        unhandled: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(
            lambda _, context: unhandled.append(context)
        )
        run = Run(Caller(owner=None), "s1", streaming=True)
        connection = Connection()
        stream = _stream_of(run, connection)
        await asyncio.sleep(0.01)
        connection.broken = True
        run.emit_frame(_frame(0))  # raises nothing here, in the run's task
        await asyncio.sleep(0.01)  # nor in the callback that writes it
        try:
            await asyncio.wait_for(stream, 5)
        except OSError as error:
            return error, unhandled
        return None, unhandled

    error, unhandled = asyncio.run(main())
    assert isinstance(error, OSError)  # was: lost in the callback, the stream left waiting
    assert unhandled == []

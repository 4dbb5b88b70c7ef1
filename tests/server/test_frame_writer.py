"""A delta made while its stream waits is sent by the run's task: one task step per chunk.

The stream's own loop (``EventStreamResponse``) runs on a real event loop with an ASGI
``send`` written here (it records what reaches the server, and can make a send wait as
a server's flow control does); the end-to-end case streams a paced reply through
``serve`` over loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from alltoken_agent import Gateway, RetryPolicy
from alltoken_agent.server import ServerOptions, create_app
from alltoken_agent.server._event_queue import EventQueue
from alltoken_agent.server._frame_writer import FrameWriter
from alltoken_agent.server.auth import Caller
from alltoken_agent.server.runs import Run, RunEnd
from alltoken_agent.server.sse import KEEPALIVE, EventStreamResponse, delta_frame
from alltoken_agent.simulator import SimulatorServer
from alltoken_agent.store import Store
from tests.server.conftest import GATEWAY_KEY, KEY_A, ServerThread, create_session
from tests.server.test_messages import SSE


class Wire:
    """An ASGI server's side of one response: the bodies sent, in order.

    ``hold`` makes the next body's send wait until ``release`` (flow control).
    """

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.held: asyncio.Event | None = None
        self.waits = 0

    def hold(self) -> None:
        self.held = asyncio.Event()

    def release(self) -> None:
        assert self.held is not None
        self.held.set()
        self.held = None

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        if self.held is not None:
            self.waits += 1
            await self.held.wait()
        self.bodies.append(message["body"])

    @property
    def frames(self) -> bytes:
        return b"".join(self.bodies)


async def _never_leaves() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def _run() -> Run:
    return Run(Caller(owner=None), "s1", streaming=True)


def _end(run: Run) -> None:
    run.finish(RunEnd("done", {"event": "done"}, None, None, None))


def _frame(i: int) -> bytes:
    return delta_frame("stream:delta", f"w{i}")


def test_frames_put_while_the_reader_waits_go_to_the_writer_and_the_reader_sleeps_on() -> None:
    async def main() -> tuple[list[bytes], bool, bool]:
        queue = EventQueue()
        wire = Wire()
        queue.writer = FrameWriter(wire.send, queue)
        reader = asyncio.ensure_future(queue.wait(30.0))
        await asyncio.sleep(0)  # the reader is waiting now
        for i in range(3):  # a model's chunks, one at a time
            queue.put(_frame(i))
            await asyncio.sleep(0.01)
        woke = reader.done()
        queue.put(("done", {"event": "done"}))  # an event that is not a frame is queued
        await asyncio.sleep(0)
        return wire.bodies, woke, reader.done() and reader.result()

    bodies, woke, woke_for_event = asyncio.run(main())
    assert bodies == [_frame(0), _frame(1), _frame(2)]
    assert woke is False  # was: woken (and its task run) once per frame
    assert woke_for_event is True


def test_frames_put_in_one_go_leave_in_one_write() -> None:
    async def main() -> list[bytes]:
        queue = EventQueue()
        wire = Wire()
        queue.writer = FrameWriter(wire.send, queue)
        reader = asyncio.ensure_future(queue.wait(30.0))
        await asyncio.sleep(0)
        for i in range(3):  # one network read's chunks, made in one step of the run's task
            queue.put(_frame(i))
        await asyncio.sleep(0)
        reader.cancel()
        return wire.bodies

    assert asyncio.run(main()) == [_frame(0) + _frame(1) + _frame(2)]


def test_frames_stream_in_order_with_no_keep_alive_while_they_flow() -> None:
    async def main() -> tuple[bytes, int]:
        run = _run()
        wire = Wire()
        response = EventStreamResponse(run, 0.1, {})
        stream = asyncio.ensure_future(response({"type": "http"}, _never_leaves, wire.send))
        await asyncio.sleep(0.01)
        for i in range(15):  # 0.3 s of frames, one every 0.02 s: never quiet for 0.1 s
            run.emit_frame(_frame(i))
            await asyncio.sleep(0.02)
        during = wire.frames.count(KEEPALIVE)
        await asyncio.sleep(0.35)  # then quiet: keep-alives
        _end(run)
        await stream
        return wire.frames, during

    frames, during = asyncio.run(main())
    assert frames.startswith(b"".join(_frame(i) for i in range(15)))
    assert during == 0
    assert frames.count(KEEPALIVE) >= 2
    assert frames.endswith(b'event: done\ndata: {"event":"done"}\n\n')


def test_a_send_that_must_wait_is_finished_by_the_stream_before_what_came_after_it() -> None:
    async def main() -> tuple[bytes, list[bytes]]:
        run = _run()
        wire = Wire()
        response = EventStreamResponse(run, 30.0, {})
        stream = asyncio.ensure_future(response({"type": "http"}, _never_leaves, wire.send))
        await asyncio.sleep(0.01)
        run.emit_frame(_frame(0))
        await asyncio.sleep(0.01)  # sent
        wire.hold()  # the client stops reading: the next send must wait
        run.emit_frame(_frame(1))
        await asyncio.sleep(0.01)  # its send is handed over to the stream's task
        run.emit_frame(_frame(2))  # queued behind it
        run.emit("tool:call", {"event": "tool:call"})
        sent_before_release = list(wire.bodies)
        await asyncio.sleep(0.01)
        wire.release()
        await asyncio.sleep(0.01)
        run.emit_frame(_frame(3))  # the stream waits again: sent without it
        await asyncio.sleep(0.01)
        _end(run)
        await stream
        return wire.frames, sent_before_release

    frames, before = asyncio.run(main())
    assert before == [_frame(0)]
    assert frames == (
        _frame(0)
        + _frame(1)
        + _frame(2)
        + b'event: tool:call\ndata: {"event":"tool:call"}\n\n'
        + _frame(3)
        + b'event: done\ndata: {"event":"done"}\n\n'
    )


def test_a_send_that_fails_in_the_run_task_fails_the_stream_not_the_run() -> None:
    async def main() -> tuple[BaseException | None, bool]:
        run = _run()
        calls = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal calls
            calls += 1
            if message["type"] == "http.response.body":
                raise OSError("the connection is gone")

        response = EventStreamResponse(run, 30.0, {})
        stream = asyncio.ensure_future(response({"type": "http"}, _never_leaves, send))
        await asyncio.sleep(0.01)
        run.emit_frame(_frame(0))  # raises nothing here, in the run's task
        await asyncio.sleep(0.01)  # nor in the callback that sends it
        try:
            await asyncio.wait_for(stream, 5)
        except OSError as error:
            return error, calls == 2
        return None, False

    error, sent_twice = asyncio.run(main())
    assert isinstance(error, OSError) and sent_twice


@pytest.fixture
def paced_sim() -> Iterator[Any]:
    """A simulator that sends one streamed event every 10 ms, as a model does."""
    with SimulatorServer("alltoken", identify=False, chunk_delay=0.01) as server:
        yield server


def test_a_paced_reply_streams_through_serve_in_order_to_done(
    paced_sim: Any, tmp_path: Path
) -> None:
    gateway = Gateway(
        "alltoken",
        base_url=paced_sim.base_url,
        api_key=GATEWAY_KEY,
        retry=RetryPolicy(max_retries=0, base_delay=0, max_delay=0),
    )
    store = Store(f"sqlite:///{tmp_path / 'paced.db'}")
    options = ServerOptions(keys=(SecretStr(KEY_A),), keepalive_interval=0.05)
    server = ServerThread(create_app(gateway, store, options=options), gateway, store)
    words = [f"w{i}" for i in range(30)]
    try:
        with server.client() as client:
            session_id = create_session(client)
            with client.stream(
                "POST",
                f"/v1/sessions/{session_id}/messages",
                json={"content": "[[reply " + " ".join(words) + "]]"},
                headers=SSE,
            ) as response:
                assert response.status_code == 200
                lines = list(response.iter_lines())
            history = client.get(f"/v1/sessions/{session_id}").json()
    finally:
        server.stop()
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    deltas = [line for line in lines if line.startswith('data: {"event":"stream:delta"')]
    assert names[-1] == "done"
    assert "".join(line.split('"delta":"')[1].rstrip('"}') for line in deltas) == " ".join(words)
    assert history["messages"][-1]["content"] == " ".join(words)


def test_a_stream_cancelled_while_a_handed_over_send_waits_drops_that_send() -> None:
    async def main() -> tuple[bool, list[bytes]]:
        run = _run()
        wire = Wire()
        response = EventStreamResponse(run, 30.0, {})
        stream = asyncio.ensure_future(response({"type": "http"}, _never_leaves, wire.send))
        await asyncio.sleep(0.01)
        wire.hold()
        run.emit_frame(_frame(0))  # handed over; the stream's task waits for the client
        await asyncio.sleep(0.01)
        stream.cancel()  # the server gives up on the connection
        await asyncio.gather(stream, return_exceptions=True)
        wire.release()
        await asyncio.sleep(0.01)
        return stream.cancelled(), wire.bodies

    cancelled, bodies = asyncio.run(main())
    assert cancelled is True
    assert bodies == []  # the abandoned send did not go on once the client could read

"""Graceful shutdown: runs in flight finish, or their streams end with a final error event."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from alltoken_agent.store import Store
from tests.server.conftest import MakeServer, ServerThread, create_session
from tests.server.test_messages import SSE, iter_sse

pytestmark = pytest.mark.slow


class StreamInThread:
    """Posts a message as an event stream in a thread; ``first_delta`` is set mid-answer."""

    def __init__(self, server: ServerThread, session_id: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.first_delta = threading.Event()
        self._server = server
        self._session_id = session_id
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        with (
            self._server.client() as client,
            client.stream(
                "POST",
                f"/v1/sessions/{self._session_id}/messages",
                json={"content": "hello"},
                headers=SSE,
            ) as response,
        ):
            for event in _events_as_they_come(response, self.first_delta):
                self.events.append(event)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not end"


def _events_as_they_come(response: Any, first_delta: threading.Event) -> Any:
    for event in iter_sse(response):
        if event[0] == "stream:delta":
            first_delta.set()
        yield event


def _streaming(
    make_server: MakeServer, sim: Any, *, grace: float, fault: str
) -> tuple[ServerThread, str, StreamInThread]:
    """A server with ``grace`` and one message streaming on a new session, under ``fault``."""
    server = make_server(shutdown_grace=grace)
    with server.client() as client:
        session_id = create_session(client)
    sim.state.enqueue_faults([fault])
    return server, session_id, StreamInThread(server, session_id)


def _stop_when_streaming(server: ServerThread, stream: StreamInThread) -> float:
    assert stream.first_delta.wait(10)
    started = time.monotonic()
    server.stop(wait=False)
    return started


def test_a_run_longer_than_the_grace_ends_with_a_final_error_event(
    make_server: MakeServer, sim: Any
) -> None:
    server, _, stream = _streaming(make_server, sim, grace=0.3, fault="stall:2:30")
    started = _stop_when_streaming(server, stream)
    stream.join(10)
    assert time.monotonic() - started < 8  # not the 30 s stall
    name, last = stream.events[-1]
    assert name == "error"
    assert last["code"] == "server_shutdown"
    assert "shutting down" in last["message"]
    assert {"session_id", "request_cost", "budget"} <= set(last)
    server.join()


def test_a_run_within_the_grace_finishes_before_the_server_stops(
    make_server: MakeServer, sim: Any
) -> None:
    server, session_id, stream = _streaming(make_server, sim, grace=10, fault="stall:2:0.5")
    _stop_when_streaming(server, stream)
    stream.join(10)
    assert stream.events[-1][0] == "done"
    assert stream.events[-1][1]["text"].startswith("[simulated")
    server.join()
    # The finished turn was saved before the server went away.
    with Store(server.store.url) as store:
        saved = store.sessions.load_messages(session_id)
    assert [m["role"] for m in saved] == ["user", "assistant"]


def test_a_draining_server_refuses_new_runs_with_503(make_server: MakeServer, sim: Any) -> None:
    server = make_server(shutdown_grace=5)
    with server.client() as client:
        busy = create_session(client)
        other = create_session(client)
        sim.state.enqueue_faults(["stall:2:2"])
        stream = StreamInThread(server, busy)
        _stop_when_streaming(server, stream)
        deadline = time.monotonic() + 5
        while not server.context.runs.draining and time.monotonic() < deadline:
            time.sleep(0.01)
        # This client's keep-alive connection predates the shutdown, so it still gets in.
        refused = client.post(f"/v1/sessions/{other}/messages", json={"content": "hi"})
        health = client.get("/healthz")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "server_shutting_down"
    assert refused.headers["retry-after"] == "1"
    assert health.status_code == 503 and health.json() == {"status": "draining"}
    stream.join(10)
    assert stream.events[-1][0] == "done"


def test_a_turn_still_opening_when_the_grace_ends_is_refused_with_503(
    make_server: MakeServer, sim: Any
) -> None:
    # The run's own task opens its turn (server/turns.py: open_and_run_turn), so a
    # shutdown cancels it there too; its request is answered, not cut off.
    server = make_server(shutdown_grace=0.3)
    with server.client() as client:
        session_id = create_session(client)
    path = sa.make_url(server.store.url).database
    assert path is not None
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the open now waits for the database's write lock
    replies: list[httpx.Response] = []
    try:
        with server.client() as client:
            sender = threading.Thread(
                target=lambda: replies.append(
                    client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
                )
            )
            sender.start()
            deadline = time.monotonic() + 5
            while not len(server.context.runs) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(server.context.runs) == 1
            server.stop(wait=False)
            sender.join(10)
    finally:
        blocker.rollback()
        blocker.close()
    assert not sender.is_alive()
    assert replies[0].status_code == 503
    assert replies[0].json()["error"]["code"] == "server_shutdown"
    assert replies[0].headers["retry-after"] == "1"
    assert not [r for r in sim.state.requests if r.path.endswith("/chat/completions")]
    server.join()


def test_no_order_of_signals_forces_the_stop_and_ctrl_c_again_cuts_the_grace(
    make_server: MakeServer, sim: Any
) -> None:
    """The signals as uvicorn's handler gets them (called here, from the test's thread)."""
    server, session_id, stream = _streaming(make_server, sim, grace=60, fault="stall:2:30")
    assert stream.first_delta.wait(10)
    handle = server.server.handle_exit
    handle(signal.SIGTERM, None)  # a parent's stop
    handle(signal.SIGINT, None)  # the terminal's Ctrl-C, after it: still graceful
    assert server.server.should_exit
    assert not server.server.force_exit and not server.server.hurried
    time.sleep(0.5)
    assert stream.events[-1][0] == "stream:delta"  # the run is given its grace
    started = time.monotonic()
    handle(signal.SIGINT, None)  # Ctrl-C again
    assert server.server.hurried and not server.server.force_exit
    stream.join(10)
    assert time.monotonic() - started < 5  # not the 30 s stall, nor the 60 s grace
    name, last = stream.events[-1]
    assert (name, last["code"]) == ("error", "server_shutdown")
    server.join()
    with Store(server.store.url) as store:  # the app's shutdown ran: the turn was saved
        saved = store.sessions.load_messages(session_id)
    assert [m["role"] for m in saved][:1] == ["user"]

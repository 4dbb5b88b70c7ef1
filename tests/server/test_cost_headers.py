"""X-Request-Cost and X-Budget-Remaining on every reply: 0 only when nothing was spent."""

from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import MakeServer, ServerThread, create_session
from tests.server.test_messages import stream

COST = "x-request-cost"
BOOK = "x-request-cost-book"
BUDGET = "x-budget-remaining"


@pytest.fixture
def budgeted(make_server: MakeServer) -> ServerThread:
    return make_server(
        daily_budget_usd=Decimal("5"), rate_limit_per_minute=6000, rate_limit_burst=1000
    )


def _headers(response: httpx.Response) -> tuple[str, str]:
    return response.headers[COST], response.headers[BUDGET]


@pytest.mark.slow
def test_replies_that_spend_nothing_say_0_and_the_budget_left(budgeted: ServerThread) -> None:
    with budgeted.client() as client:
        session_id = create_session(client)
        replies = [
            client.get("/v1/sessions"),
            client.get(f"/v1/sessions/{session_id}"),
            client.get("/v1/sessions/ses_nope"),  # 404
            client.post("/v1/sessions", json={"tools": "nope"}),  # 422
            client.get("/v1/usage"),
            client.get("/v1/jobs"),
            client.get("/v1/capabilities"),
            client.get("/openapi.json"),
            client.delete(f"/v1/sessions/{session_id}"),
        ]
    for reply in replies:
        where = (reply.request.method, reply.request.url.path, reply.status_code)
        assert reply.headers[COST] == "0", where
        assert Decimal(reply.headers[BUDGET]) == 5, where


def test_a_refused_key_gets_0_and_an_unknown_budget(budgeted: ServerThread) -> None:
    with budgeted.client(key="server-key-nobody-0123456789abcdef") as client:
        reply = client.get("/v1/sessions")
    assert reply.status_code == 401
    assert _headers(reply) == ("0", "unknown")  # whose budget? not known without a key


def test_a_json_answer_carries_its_cost_and_what_is_left(budgeted: ServerThread) -> None:
    with budgeted.client() as client:
        session_id = create_session(client)
        reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
    assert reply.status_code == 200
    cost, left = _headers(reply)
    assert Decimal(cost) > 0 and Decimal(cost) == Decimal(reply.json()["request_cost"])
    assert Decimal(left) == Decimal(5) - Decimal(cost)
    assert reply.headers[BOOK] == "real"  # the session simulator plays a real gateway


def test_an_offline_servers_answer_says_its_cost_is_simulated(tmp_path: Path) -> None:
    from alltoken_agent import Gateway
    from alltoken_agent.server import ServerOptions, create_app
    from alltoken_agent.store import Store

    gateway = Gateway.offline()
    store = Store(f"sqlite:///{tmp_path / 'offline.db'}")
    server = ServerThread(create_app(gateway, store, options=ServerOptions()), gateway, store)
    try:
        with server.client(None) as client:
            session_id = create_session(client)
            reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
    finally:
        server.stop()
    assert reply.status_code == 200 and reply.json()["simulated"] is True
    # A made-up cost, in the header too, never passes for money.
    assert Decimal(reply.headers[COST]) > 0 and reply.headers[BOOK] == "simulated"


def test_an_event_stream_says_its_cost_is_unknown_not_0(budgeted: ServerThread) -> None:
    with budgeted.client() as client:
        session_id = create_session(client)
        response, events = stream(client, session_id, "hi")
    assert response.status_code == 200
    assert response.headers[COST] == "unknown"  # it is in the last event, not known at start
    assert Decimal(response.headers[BUDGET]) == 5
    assert events[-1][0] == "done"


def test_a_media_job_says_its_cost_is_unknown(budgeted: ServerThread) -> None:
    with budgeted.client() as client:
        reply = client.post("/v1/images", json={"prompt": "a fox", "quality": "low"})
    assert reply.status_code == 202
    assert reply.headers[COST] == "unknown"


def test_without_a_budget_every_reply_says_unlimited(make_server: MakeServer) -> None:
    server = make_server(keys=None)
    with server.client(key=None) as client:
        replies = [
            client.get("/v1/sessions"),
            client.get("/healthz"),
            client.get("/v1/sessions", headers={"Host": "rebind.example"}),  # 421
            client.put("/v1/sessions"),  # 405
        ]
    for reply in replies:
        assert _headers(reply) == ("0", "unlimited"), (reply.request.url, reply.status_code)


def test_a_body_too_large_still_carries_both(make_server: MakeServer) -> None:
    server = make_server(max_body_bytes=100)
    with server.client() as client:
        reply = client.post("/v1/sessions", json={"instructions": "x" * 1000})
    assert reply.status_code == 413
    assert _headers(reply) == ("0", "unlimited")


def test_a_reply_to_bytes_that_are_not_http_carries_both(make_server: MakeServer) -> None:
    """Uvicorn answers those below the app; the server's protocol adds the headers."""
    server = make_server()
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    head = reply.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 400 ")
    assert b"\r\nx-request-cost: 0" in head and b"\r\nx-budget-remaining: unknown" in head

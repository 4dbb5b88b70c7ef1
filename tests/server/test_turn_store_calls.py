"""What one message costs the store: two transactions on the session's rows, whatever the reply.

A turn reads the session, leases it, reads its history, saves the turn and gives the lease
up: once six transactions (and six trips to a store thread), most of the server's CPU per
message under load. Now the lease, the session and its history are one transaction and
the save and the release another (the ledger's row is written apart, in batches).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.server.conftest import KEY_B, MakeServer, ServerThread, create_session
from tests.server.test_messages import SSE, sse_events

TABLES = ("sessions", "messages")


def _session_transactions(server: ServerThread) -> list[set[str]]:
    """From now on, the transactions touching a session's rows, as their statements' verbs."""
    seen: list[set[str]] = []
    current: dict[int, set[str]] = {}
    engine = server.store._sessions._db.engine

    @sa.event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:
        current[id(conn)] = set()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        words = sql.lower().replace('"', " ").split()
        if id(conn) in current and any(table in words for table in TABLES):
            current[id(conn)].add(words[0])

    @sa.event.listens_for(engine, "commit")
    def commit(conn: Any) -> None:
        verbs = current.pop(id(conn), set())
        if verbs:
            seen.append(verbs)

    return seen


@pytest.mark.parametrize("streaming", [True, False])
def test_a_message_costs_two_transactions_on_the_sessions_rows(
    make_server: MakeServer, streaming: bool
) -> None:
    server = make_server(rate_limit_per_minute=6000, rate_limit_burst=1000)
    with server.client() as client:
        session_id = create_session(client)
        seen = _session_transactions(server)
        url = f"/v1/sessions/{session_id}/messages"
        if streaming:
            with client.stream("POST", url, json={"content": "Hello!"}, headers=SSE) as reply:
                assert reply.status_code == 200
                events = sse_events(reply)
            assert events[-1][0] == "done"
        else:
            reply = client.post(url, json={"content": "Hello!"})
            assert reply.status_code == 200, reply.text
        # The turn is saved before the end is reported: nothing is left to count later.
        assert len(seen) == 2, seen
        opened, closed = seen
        assert "update" in opened and "select" in opened  # the lease, then the history
        assert "insert" in closed and "update" in closed  # the turn, and the lease given up
        history = client.get(f"/v1/sessions/{session_id}").json()["messages"]
    assert [message["role"] for message in history] == ["user", "assistant"]


def test_a_session_of_another_key_is_404_and_leaves_no_lease(make_server: MakeServer) -> None:
    server = make_server()
    with server.client() as first, server.client(KEY_B) as second:
        session_id = create_session(first)
        refused = second.post(f"/v1/sessions/{session_id}/messages", json={"content": "Hi"})
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "session_not_found"
        answer = first.post(f"/v1/sessions/{session_id}/messages", json={"content": "Hi"})
        assert answer.status_code == 200, answer.text

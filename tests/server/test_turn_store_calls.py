"""What one message costs the store: two transactions on the session's rows, whatever the reply.

A turn reads the session, leases it, reads its history, saves the turn and gives the lease
up: once six transactions (and six trips to a store thread), most of the server's CPU per
message under load. Now the lease, the session and its history are one transaction and
the save and the release another (the ledger's row is written apart, in batches).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.server.conftest import KEY_B, MakeServer, ServerThread, create_session
from tests.server.test_messages import SSE, iter_sse, sse_events
from tests.server.test_replica_failover import until_first_delta, wait_until

TABLES = ("sessions", "messages")


def _session_transactions(server: ServerThread) -> list[set[str]]:
    """From now on, the transactions touching a session's rows, as their statements' verbs."""
    seen: list[set[str]] = []
    current: dict[int, set[str]] = {}
    engine = server.store._sessions._db.engine

    def note(key: int, sql: str) -> None:
        words = sql.lower().replace('"', " ").split()
        if key in current and any(table in words for table in TABLES):
            current[key].add(words[0])

    @sa.event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:
        current[id(conn)] = set()
        if conn.dialect.name == "sqlite":
            # A turn's statements run on the driver's cursor there (store/_driver_sql.py):
            # SQLite's own trace sees them, SQLAlchemy's events do not.
            key = id(conn)
            conn.connection.driver_connection.set_trace_callback(lambda sql: note(key, sql))

    @sa.event.listens_for(engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        note(id(conn), sql)

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
        # On SQLite the lease's UPDATE returns the history too (store/_session_turns.py).
        assert opened == {"update"}
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


def test_leases_are_renewed_again_after_every_lease_this_server_held_was_taken_over(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'leases.db'}"
    server = make_server(store_url=url, rate_limit_per_minute=6000, rate_limit_burst=1000)
    assert server.context.runs.leases is not None
    server.context.runs.leases.seconds = 0.6  # renewed every 0.2 s
    database = sa.create_engine(url)

    def lease(session_id: str) -> tuple[Any, Any]:
        with database.connect() as conn:
            query = sa.text("SELECT lease_owner, lease_until FROM sessions WHERE id = :id")
            return tuple(conn.execute(query, {"id": session_id}).one())

    def renewed(session_id: str) -> None:
        holder, first = lease(session_id)
        assert holder is not None
        wait_until(
            lambda: (now := lease(session_id))[0] == holder and now[1] > first,
            f"the lease of {session_id} renewed",
            timeout=10,
        )

    try:
        with server.client() as client:
            taken, later = create_session(client), create_session(client)
            sim.state.enqueue_faults(["stall:3:60", "stall:3:60"])
            url_taken = f"/v1/sessions/{taken}/messages"
            with client.stream("POST", url_taken, json={"content": "A"}, headers=SSE) as one:
                events = iter_sse(one)
                until_first_delta(events)
                renewed(taken)
                # Another process takes the session over (its lease ran out unseen, say): the
                # next renewal finds it lost and stops, and this server then holds no lease.
                with database.begin() as conn:
                    conn.execute(
                        sa.text("UPDATE sessions SET lease_owner = 'elsewhere/1/x' WHERE id = :id"),
                        {"id": taken},
                    )
                wait_until(lambda: not server.context.runs.leases._held, "the lost lease dropped")
                url_later = f"/v1/sessions/{later}/messages"
                with client.stream("POST", url_later, json={"content": "B"}, headers=SSE) as two:
                    kept = iter_sse(two)  # kept: a dropped generator may close the stream
                    until_first_delta(kept)
                    renewed(later)  # a new renewer runs for the new turn
                    assert lease(taken)[0] == "elsewhere/1/x"  # the lost one is left alone
    finally:
        database.dispose()

"""A server turn's store calls: the lease, the session and its history in one; the save in another.

On SQLite and on PostgreSQL (server replicas share one), since the lease is what keeps
two replicas from running one session's turn at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent.errors import AllTokenAgentError, UserError
from alltoken_agent.store import Store, schema

HOLDER = "host/1/a"
OTHER = "host/2/b"


def _transactions(store: Store, texts: list[list[str]] | None = None) -> list[list[str]]:
    """The statements of every transaction from now on, one list per transaction.

    Each statement as its verb; ``texts`` gets their whole SQL, values in, alike.
    """
    seen: list[list[str]] = []
    engine = store._sessions._db.engine

    def statement(sql: str) -> None:
        if seen and not sql.startswith(("BEGIN", "SET LOCAL", "COMMIT", "ROLLBACK", "--")):
            seen[-1].append(sql.split()[0].upper())
            if texts is not None:
                texts[-1].append(sql)

    @sa.event.listens_for(engine, "begin")
    def begin(conn: Any) -> None:
        seen.append([])
        if texts is not None:
            texts.append([])
        if conn.dialect.name == "sqlite":
            # A turn's statements run on the driver's cursor there (store/_driver_sql.py):
            # SQLite's own trace sees them, SQLAlchemy's events do not.
            conn.connection.driver_connection.set_trace_callback(statement)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if conn.dialect.name != "sqlite":
            statement(sql)

    return seen


def test_opening_a_turn_takes_the_lease_and_reads_the_session_and_its_history_at_once(
    any_store: Store,
) -> None:
    sessions = any_store.sessions
    created = sessions.create_session(owner="key_a", model="m", metadata={"tools": []})
    sessions.append_messages(created.id, [{"role": "user", "content": "hi"}])
    seen = _transactions(any_store)
    start = sessions.open_turn(created.id, owner="key_a", holder=HOLDER, seconds=30)
    assert start.holder == HOLDER
    assert start.session is not None and start.session.model == "m"
    assert start.session.metadata == {"tools": []} and start.session.message_count == 1
    assert start.messages == [{"role": "user", "content": "hi"}]
    assert len(seen) == 1  # one transaction: the lease and both reads
    # The lease is taken: another holder finds it busy, and is told who holds it.
    busy = sessions.open_turn(created.id, owner="key_a", holder=OTHER, seconds=30)
    assert (busy.holder, busy.session, busy.messages) == (HOLDER, None, [])
    assert sessions.take_lease(created.id, OTHER, 30) == HOLDER


def test_another_owners_session_or_an_unknown_one_opens_nothing_and_takes_no_lease(
    any_store: Store,
) -> None:
    sessions = any_store.sessions
    created = sessions.create_session(owner="key_a")
    for owner, session_id in (("key_b", created.id), (None, created.id), ("key_a", "ses_0")):
        start = sessions.open_turn(session_id, owner=owner, holder=OTHER, seconds=30)
        assert (start.holder, start.session, start.messages) == (None, None, [])
    assert sessions.take_lease(created.id, HOLDER, 30) == HOLDER  # still free


def test_a_dead_holders_lease_is_taken_over_only_when_named(any_store: Store) -> None:
    sessions = any_store.sessions
    created = sessions.create_session()
    assert sessions.take_lease(created.id, "host/9/dead", 600) == "host/9/dead"
    held = sessions.open_turn(created.id, owner=None, holder=HOLDER, seconds=30)
    assert held.session is None and held.holder == "host/9/dead"
    taken = sessions.open_turn(
        created.id, owner=None, holder=HOLDER, seconds=30, steal_from="host/9/dead"
    )
    assert taken.session is not None and taken.holder == HOLDER


def test_closing_a_turn_saves_it_and_gives_the_lease_up_in_one_transaction(
    any_store: Store,
) -> None:
    sessions = any_store.sessions
    created = sessions.create_session(owner="key_a")
    sessions.append_messages(created.id, [{"role": "user", "content": "one"}])
    sessions.open_turn(created.id, owner="key_a", holder=HOLDER, seconds=30)
    seen = _transactions(any_store)
    turn = [{"role": "user", "content": "two"}, {"role": "assistant", "content": "2"}]
    sessions.close_turn(created.id, HOLDER, turn)
    assert len(seen) == 1 and "INSERT" in seen[0]
    assert sessions.load_messages(created.id) == [{"role": "user", "content": "one"}, *turn]
    record = sessions.get_session(created.id, owner="key_a")
    assert record is not None and record.updated_at > created.updated_at
    again = sessions.open_turn(created.id, owner="key_a", holder=OTHER, seconds=30)
    assert again.holder == OTHER and again.messages[-1] == {"role": "assistant", "content": "2"}


def test_a_turn_longer_than_one_insert_holds_is_saved_whole_and_in_order(
    any_store: Store,
) -> None:
    # On SQLite a save's messages go in one multi-row INSERT of at most 999 values (249
    # rows of four: store/_driver_sql.py); 600 take three, their positions one run.
    sessions = any_store.sessions
    created = sessions.create_session()
    sessions.append_messages(created.id, [{"role": "user", "content": "start"}])
    sessions.open_turn(created.id, owner=None, holder=HOLDER, seconds=30)
    turn = [{"role": "tool", "tool_call_id": f"c{i}", "content": str(i)} for i in range(600)]
    sessions.close_turn(created.id, HOLDER, turn)
    assert sessions.load_messages(created.id) == [{"role": "user", "content": "start"}, *turn]
    again = sessions.open_turn(created.id, owner=None, holder=OTHER, seconds=30)
    assert again.messages[-1] == turn[-1] and len(again.messages) == 601


def test_closing_without_messages_only_gives_the_lease_up(any_store: Store) -> None:
    sessions = any_store.sessions
    created = sessions.create_session()
    sessions.open_turn(created.id, owner=None, holder=HOLDER, seconds=30)
    sessions.close_turn(created.id, HOLDER, [])
    record = sessions.get_session(created.id)
    assert record is not None and record.updated_at == created.updated_at  # nothing was said
    assert sessions.take_lease(created.id, OTHER, 30) == OTHER


def test_closing_keeps_another_holders_lease(any_store: Store) -> None:
    sessions = any_store.sessions
    created = sessions.create_session()
    assert sessions.take_lease(created.id, OTHER, 600) == OTHER  # took over meanwhile
    sessions.close_turn(created.id, HOLDER, [{"role": "user", "content": "late"}])
    assert sessions.take_lease(created.id, HOLDER, 30) == OTHER
    assert sessions.load_messages(created.id) == [{"role": "user", "content": "late"}]


def test_closing_a_turn_of_a_deleted_session_fails_and_saves_nothing(any_store: Store) -> None:
    with pytest.raises(UserError, match="no session has the id"):
        any_store.sessions.close_turn("ses_0", HOLDER, [{"role": "user", "content": "x"}])


def test_renewing_extends_every_lease_held_and_names_those_lost(any_store: Store) -> None:
    sessions = any_store.sessions
    mine = sessions.create_session()
    lost = sessions.create_session()
    sessions.open_turn(mine.id, owner=None, holder=HOLDER, seconds=0.5)
    sessions.take_lease(lost.id, OTHER, 600)
    seen = _transactions(any_store)
    assert sessions.renew_leases({mine.id: HOLDER, lost.id: HOLDER}, 600) == {lost.id: OTHER}
    assert len(seen) == 1
    table = schema.sessions
    with any_store._sessions._db.engine.connect() as conn:
        until = conn.scalar(sa.select(table.c.lease_until).where(table.c.id == mine.id))
    assert until > datetime.now(timezone.utc) + timedelta(seconds=500)  # not the 0.5 s any more


TURN = [
    {"role": "user", "content": [{"type": "text", "text": '☃ 雪 \u2028 "quoted"'}]},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
    {"role": "tool", "tool_call_id": "c1", "content": "1.5e300"},
]


def _stored(store: Store, session_id: str) -> list[tuple[Any, ...]]:
    table = schema.messages
    query = (
        sa.select(table.c.position, sa.cast(table.c.message, sa.Text), table.c.created_at)
        .where(table.c.session_id == session_id)
        .order_by(table.c.position)
    )
    with store._sessions._db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def test_a_turn_is_stored_and_read_back_as_an_append_and_a_get_do_it(any_store: Store) -> None:
    # On SQLite a turn's statements skip SQLAlchemy's execution (store/_driver_sql.py):
    # the rows and the record must be the ones the ordinary path writes and reads.
    sessions = any_store.sessions
    meta = {"tools": ["read_file"], "nested": {"é": [1, 2.5, None, True]}}
    turned = sessions.create_session(owner="key_a", model="m", instructions="i", metadata=meta)
    appended = sessions.create_session(owner="key_a", metadata=meta)
    sessions.append_messages(turned.id, TURN[:1])
    sessions.append_messages(appended.id, TURN)
    start = sessions.open_turn(turned.id, owner="key_a", holder=HOLDER, seconds=30)
    assert start.session == sessions.get_session(turned.id, owner="key_a")
    assert start.session is not None and start.session.created_at.tzinfo is not None
    assert start.messages == TURN[:1]
    sessions.close_turn(turned.id, HOLDER, TURN[1:])
    mine, theirs = _stored(any_store, turned.id), _stored(any_store, appended.id)
    assert [row[:2] for row in mine] == [row[:2] for row in theirs]  # positions and JSON text
    assert all(row[2].tzinfo is not None for row in mine)
    assert [row[2] for row in mine[1:]] == [mine[1][2]] * 2  # one time for the whole turn
    again = sessions.open_turn(turned.id, owner="key_a", holder=OTHER, seconds=30)
    assert again.messages == sessions.load_messages(appended.id) == TURN
    assert again.session is not None and again.session.message_count == len(TURN)
    assert again.session.updated_at == sessions.get_session(turned.id, owner="key_a").updated_at


@pytest.mark.parametrize("bad_value", [object(), float("nan"), {1, 2}])
def test_a_turn_with_a_value_json_cannot_hold_saves_nothing(
    any_store: Store, bad_value: object
) -> None:
    sessions = any_store.sessions
    created = sessions.create_session()
    sessions.append_messages(created.id, TURN[:1])
    sessions.open_turn(created.id, owner=None, holder=HOLDER, seconds=600)
    before = sessions.get_session(created.id)
    bad = [{"role": "assistant", "content": "ok"}, {"role": "user", "content": bad_value}]
    with pytest.raises(UserError, match="JSON"):
        sessions.close_turn(created.id, HOLDER, bad)
    assert sessions.load_messages(created.id) == TURN[:1]
    assert sessions.get_session(created.id) == before  # updated_at stayed
    assert sessions.take_lease(created.id, OTHER, 30) == HOLDER  # the whole write rolled back
    sessions.close_turn(created.id, HOLDER, bad[:1])
    assert sessions.load_messages(created.id) == [*TURN[:1], bad[0]]


def test_on_sqlite_a_turn_runs_on_the_driver_not_through_sqlalchemys_execution(
    tmp_path: Path,
) -> None:
    # SQLAlchemy's per-statement execution was ~10x SQLite's own work per statement,
    # most of a server's store CPU per message (bench/store_turns.py).
    with Store(f"sqlite:///{tmp_path / 'driver.db'}") as store:
        sessions = store.sessions
        created = sessions.create_session(owner="key_a")
        sessions.append_messages(created.id, TURN[:1])
        through_sqlalchemy: list[str] = []

        @sa.event.listens_for(store._sessions._db.engine, "before_cursor_execute")
        def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
            through_sqlalchemy.append(sql)

        texts: list[list[str]] = []
        seen = _transactions(store, texts)
        start = sessions.open_turn(created.id, owner="key_a", holder=HOLDER, seconds=30)
        sessions.close_turn(created.id, HOLDER, TURN[1:])
        assert sessions.renew_leases({created.id: HOLDER}, 30) == {}
        assert start.messages == TURN[:1]
        # SQLite's trace also shows the full-text index's own inserts (its trigger).
        assert [sorted(set(verbs)) for verbs in seen] == [
            ["UPDATE"],
            ["INSERT", "UPDATE"],
            ["UPDATE"],
        ]
        assert seen[1][0] == "UPDATE"  # the last position comes with the lease's release
        # Each run of the driver lets the GIL go (store/_driver_sql.py), so a turn makes
        # few: the open is the lease with the history in its RETURNING, and the save
        # puts both messages in one INSERT. (The trace repeats a statement's text as it
        # starts each trigger program: the texts, not the lines, count the statements.)
        assert [len(set(statements)) for statements in texts] == [1, 2, 1]
        assert through_sqlalchemy == []


def test_a_driver_failure_in_a_turn_comes_out_as_the_stores_error(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'failing.db'}") as store:
        sessions = store.sessions
        created = sessions.create_session()
        sessions.open_turn(created.id, owner=None, holder=HOLDER, seconds=600)
        with store._sessions._db.engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages"
                " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
            )
        with pytest.raises(AllTokenAgentError, match="refused by a trigger"):
            sessions.close_turn(created.id, HOLDER, TURN)
        assert sessions.load_messages(created.id) == []
        assert sessions.take_lease(created.id, OTHER, 30) == HOLDER  # all of it rolled back


TRICKY = [
    {"role": "user", "content": 'commas, [brackets], "quotes", \\ and ],[ joins'},
    {"role": "assistant", "content": "é ✓ 𝄞 \u2028 \x00 tab\tnew\nline"},
    {"role": "tool", "content": [{"type": "text", "text": "x"}], "n": 12345678901234567890},
    {"role": "assistant", "content": None, "f": 1.5e-300, "z": -0.0, "e": {}, "a": []},
]


def test_a_turns_history_is_every_stored_message_in_position_order_whatever_it_holds(
    any_store: Store,
) -> None:
    # On SQLite the history comes as one row (the stored texts joined in SQL, no order
    # promised): it must read as the ordinary path reads it, oldest first.
    sessions = any_store.sessions
    created = sessions.create_session(owner="key_a")
    now = datetime.now(timezone.utc)
    with any_store._sessions._db.engine.begin() as conn:
        for position in (2, 0, 3, 1):  # rows stored out of their order
            conn.execute(
                sa.insert(schema.messages).values(
                    session_id=created.id,
                    position=position,
                    message=TRICKY[position],
                    created_at=now,
                )
            )
    start = sessions.open_turn(created.id, owner="key_a", holder=HOLDER, seconds=30)
    assert start.messages == sessions.load_messages(created.id) == TRICKY
    assert start.session is not None and start.session.message_count == len(TRICKY)
    empty = sessions.create_session(owner="key_a")
    opened = sessions.open_turn(empty.id, owner="key_a", holder=HOLDER, seconds=30)
    assert opened.messages == [] and opened.session is not None
    assert opened.session.message_count == 0

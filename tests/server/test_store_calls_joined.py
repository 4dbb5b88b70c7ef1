"""A server turn's save commits the ledger row waiting for it in the same transaction.

``StoreCalls`` is driven directly over a real SQLite store (no server); the commits are
counted with SQLAlchemy's own ``commit`` event on the store's engine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent.errors import UserError
from alltoken_agent.ledger import Ledger
from alltoken_agent.server.storage import RUN_TAG, StoreCalls
from alltoken_agent.store import Store
from tests.ledger.helpers import gateway_cost, make_record

HOLDER = "host/1/abc"
TURN = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


def _commits(store: Store) -> list[int]:
    """From now on, one entry per commit on the store's engine."""
    seen: list[int] = []
    sa.event.listen(store._db.engine, "commit", lambda conn: seen.append(1))
    return seen


@pytest.fixture
def store(tmp_path: Path) -> Any:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    yield store
    store.close()


def test_a_turns_save_and_its_waiting_ledger_row_are_one_commit(store: Store) -> None:
    ledger = Ledger(store)
    calls = StoreCalls(ledger)
    session = store.sessions.create_session(owner="o1")
    start = store.sessions.open_turn(session.id, owner="o1", holder=HOLDER, seconds=30)
    assert start.session is not None
    commits = _commits(store)

    async def save() -> None:
        calls.ledger_observer(
            make_record(request_id="req-1", cost=gateway_cost("0.002"), tags={RUN_TAG: "r1"})
        )
        await calls.write_joined(store.sessions.close_turn, session.id, HOLDER, TURN)
        await calls.flush("r1")

    try:
        asyncio.run(save())
        assert len(commits) == 1  # was 2: the row's transaction, then the turn's
        assert [row.request_id for row in ledger.rows()] == ["req-1"]
        assert [m["role"] for m in store.sessions.load_messages(session.id)] == [
            "user",
            "assistant",
        ]
        assert (
            store.sessions.open_turn(session.id, owner="o1", holder="other/2/x", seconds=30).session
            is not None
        )  # the lease was given up in the same commit
    finally:
        calls.close()


def test_a_save_that_fails_still_writes_the_row_it_carried(store: Store) -> None:
    ledger = Ledger(store)
    calls = StoreCalls(ledger)

    async def save() -> BaseException | None:
        calls.ledger_observer(
            make_record(request_id="req-2", cost=gateway_cost("0.001"), tags={RUN_TAG: "r2"})
        )
        try:
            await calls.write_joined(store.sessions.close_turn, "no-such-session", HOLDER, TURN)
        except UserError as error:
            await calls.flush("r2")
            return error
        return None

    try:
        error = asyncio.run(save())
        assert isinstance(error, UserError)  # the save's own failure, reported
        # The paid request's row is not lost with the save that failed beside it.
        assert [row.request_id for row in ledger.rows()] == ["req-2"]
    finally:
        calls.close()


def test_with_anything_in_the_spool_the_row_is_committed_before_the_save(store: Store) -> None:
    # A session whose earlier turn waits in the spool queues its next turn there too:
    # an append a rollback cannot undo. Joined, a commit failing after it would make
    # the unjoined retry append that turn a second time; so nothing is joined while
    # the spool holds entries, and a read on another connection already sees the row.
    ledger = Ledger(store)
    calls = StoreCalls(ledger)
    session = store.sessions.create_session(owner="o1")
    spool = store._db.spool
    assert spool is not None
    earlier = [{"role": "user", "content": "Earlier"}]
    spool.append("messages", {"session_id": session.id, "messages": earlier}, reason="test")

    async def write() -> int:
        calls.ledger_observer(
            make_record(request_id="req-4", cost=gateway_cost("0.001"), tags={RUN_TAG: "r4"})
        )
        seen = await calls.write_joined(lambda: len(ledger.rows()))
        await calls.flush("r4")
        return seen

    try:
        assert asyncio.run(write()) == 1  # joined, the other connection would see 0
    finally:
        calls.close()

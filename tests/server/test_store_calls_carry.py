"""The ledger's rows ride on the next turn's save instead of a writer job of their own.

``StoreCalls`` is driven directly over a real SQLite store (no server); the hand-offs to
the writer thread are counted on its ``submit``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alltoken_agent.ledger import Ledger
from alltoken_agent.server.storage import RUN_TAG, StoreCalls
from alltoken_agent.store import Store
from tests.ledger.helpers import gateway_cost, make_record


def _counting(calls: StoreCalls) -> list[str]:
    """Names of the jobs handed to the writer thread, in order."""
    jobs: list[str] = []
    writer = calls._writer
    submit = writer.submit

    def counted(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        jobs.append(getattr(fn, "__name__", type(fn).__name__))
        return submit(fn, *args, **kwargs)

    writer.submit = counted  # type: ignore[method-assign]
    return jobs


def test_a_save_right_after_a_ledger_row_carries_it_in_one_hand_off(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    ledger = Ledger(store)
    calls = StoreCalls(ledger)
    jobs = _counting(calls)

    async def turn() -> None:
        calls.ledger_observer(
            make_record(request_id="req-1", cost=gateway_cost("0.002"), tags={RUN_TAG: "run_1"})
        )
        # The turn's save that follows its request takes the row along.
        await calls.write_joined(lambda: None)
        await calls.flush("run_1")

    try:
        asyncio.run(turn())
        assert len(jobs) == 1  # was 2: the row's own job, then the save
        assert [row.request_id for row in ledger.rows()] == ["req-1"]
    finally:
        calls.close()
        store.close()


def test_a_plain_write_carries_no_ledger_row(tmp_path: Path) -> None:
    # A plain write is what a first token may wait for (a turn's open): the row goes
    # with the next save, or alone, never in front of it.
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    ledger = Ledger(store)
    calls = StoreCalls(ledger)
    jobs = _counting(calls)

    async def write() -> int:
        calls.ledger_observer(
            make_record(request_id="req-4", cost=gateway_cost("0.002"), tags={RUN_TAG: "run_4"})
        )
        seen = await calls.write(lambda: len(ledger.rows()))
        await calls.flush("run_4")
        return seen

    try:
        assert asyncio.run(write()) == 0
        assert len(jobs) == 2  # the write, then the row alone
        assert [row.request_id for row in ledger.rows()] == ["req-4"]
    finally:
        calls.close()
        store.close()


def test_a_ledger_row_no_write_picks_up_is_written_alone_and_flushed(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    ledger = Ledger(store)
    calls = StoreCalls(ledger)
    jobs = _counting(calls)

    async def lone() -> int:
        calls.ledger_observer(
            make_record(request_id="req-2", cost=gateway_cost("0.001"), tags={RUN_TAG: "run_2"})
        )
        await calls.flush("run_2")
        return len(ledger.rows())

    try:
        assert asyncio.run(lone()) == 1
        assert len(jobs) == 1
    finally:
        calls.close()
        store.close()


def test_rows_still_waiting_when_the_calls_close_are_written(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    ledger = Ledger(store)
    calls = StoreCalls(ledger)

    async def record_and_leave() -> None:
        calls.ledger_observer(
            make_record(request_id="req-3", cost=gateway_cost("0.001"), tags={RUN_TAG: "run_3"})
        )

    try:
        asyncio.run(record_and_leave())  # the loop ends before the row's timer fires
        calls.close()
        assert [row.request_id for row in ledger.rows()] == ["req-3"]
    finally:
        calls.close()
        store.close()

"""The ledger's rows ride on the next turn's save instead of a writer job of their own.

``StoreCalls`` is driven directly over a real SQLite store (no server); the hand-offs to
the writer thread are counted on its ``submit``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.ledger import Ledger
from alltoken_agent.server.storage import RUN_TAG, StoreCalls
from alltoken_agent.store import Store
from tests.ledger.helpers import gateway_cost, make_record


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    yield Ledger(store)
    store.close()


@pytest.fixture
def calls(ledger: Ledger) -> Iterator[StoreCalls]:
    calls = StoreCalls(ledger)
    yield calls
    calls.close()


def _observe(calls: StoreCalls, run: int) -> None:
    """A request of run ``run`` ends: its row (``req-<run>``) waits for a write to carry it."""
    record = make_record(
        request_id=f"req-{run}", cost=gateway_cost("0.001"), tags={RUN_TAG: f"run_{run}"}
    )
    calls.ledger_observer(record)


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


def test_a_save_right_after_a_ledger_row_carries_it_in_one_hand_off(
    ledger: Ledger, calls: StoreCalls
) -> None:
    jobs = _counting(calls)

    async def turn() -> None:
        _observe(calls, 1)
        # The turn's save that follows its request takes the row along.
        await calls.write_joined(lambda: None)
        await calls.flush("run_1")

    asyncio.run(turn())
    assert len(jobs) == 1  # was 2: the row's own job, then the save
    assert [row.request_id for row in ledger.rows()] == ["req-1"]


def test_a_plain_write_carries_no_ledger_row(ledger: Ledger, calls: StoreCalls) -> None:
    # A plain write is what a first token may wait for (a turn's open): the row goes
    # with the next save, or alone, never in front of it.
    jobs = _counting(calls)

    async def write() -> int:
        _observe(calls, 4)
        seen = await calls.write(lambda: len(ledger.rows()))
        await calls.flush("run_4")
        return seen

    assert asyncio.run(write()) == 0
    assert len(jobs) == 2  # the write, then the row alone
    assert [row.request_id for row in ledger.rows()] == ["req-4"]


def test_a_ledger_row_no_write_picks_up_is_written_alone_and_flushed(
    ledger: Ledger, calls: StoreCalls
) -> None:
    jobs = _counting(calls)

    async def lone() -> int:
        _observe(calls, 2)
        await calls.flush("run_2")
        return len(ledger.rows())

    assert asyncio.run(lone()) == 1
    assert len(jobs) == 1


def test_rows_still_waiting_when_the_calls_close_are_written(
    ledger: Ledger, calls: StoreCalls
) -> None:
    async def record_and_leave() -> None:
        _observe(calls, 3)

    asyncio.run(record_and_leave())  # the loop ends before the row's timer fires
    calls.close()
    assert [row.request_id for row in ledger.rows()] == ["req-3"]


def test_a_save_cancelled_while_queued_still_writes_the_rows_it_carries(
    ledger: Ledger, calls: StoreCalls
) -> None:
    # The rows a save carries may be other runs' too: its caller going away must not
    # take them off the writer's queue.
    async def cancelled_save() -> None:
        release, holding = threading.Event(), threading.Event()

        def hold() -> None:
            holding.set()
            release.wait(10)

        held = asyncio.ensure_future(calls.write(hold))
        assert await asyncio.to_thread(holding.wait, 10)
        _observe(calls, 5)
        save = asyncio.ensure_future(calls.write_joined(lambda: None))
        await asyncio.sleep(0)  # queued behind the held thread
        save.cancel()
        await asyncio.sleep(0)
        release.set()
        await held
        await calls.flush("run_5")

    asyncio.run(cancelled_save())
    assert [row.request_id for row in ledger.rows()] == ["req-5"]

"""The server's store calls: ledger rows written in batches, none lost, each run's flushed.

``StoreCalls`` is driven directly over a real SQLite store (no server) where the batching
itself is the subject; the end-to-end test goes through HTTP and the simulator.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from alltoken_agent.ledger import Ledger
from alltoken_agent.server.storage import RUN_TAG, StoreCalls
from alltoken_agent.store import Store
from tests.ledger.helpers import gateway_cost, make_record
from tests.server.conftest import MakeServer, create_session
from tests.server.test_messages import stream


def test_a_burst_of_ledger_records_is_written_whole_and_each_run_flushes_its_own(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    ledger = Ledger(store)
    calls = StoreCalls(ledger)

    async def burst() -> list[int]:
        seen = []
        for index in range(60):  # one loop turn: the writer takes them in a few batches
            run = f"run_{index % 6}"
            calls.ledger_observer(
                make_record(
                    request_id=f"req-{index}",
                    cost=gateway_cost("0.001"),
                    tags={RUN_TAG: run, "session": run},
                )
            )
        for run in range(6):
            await calls.flush(f"run_{run}")
            # Flushed: this run's rows are all readable now, whatever batch they were in.
            seen.append(ledger.spent(session=f"run_{run}").known_requests)
        return seen

    try:
        assert asyncio.run(burst()) == [10] * 6
        rows = ledger.rows()
        assert sorted(row.request_id or "" for row in rows) == sorted(f"req-{i}" for i in range(60))
        assert sum((row.cost or Decimal(0)) for row in rows) == Decimal("0.060")
    finally:
        calls.close()
        store.close()


@pytest.mark.slow
def test_concurrent_turns_each_count_their_own_cost_in_the_budget(make_server: MakeServer) -> None:
    server = make_server(daily_budget_usd=Decimal("1"))
    done: list[dict[str, object]] = []

    def talk(index: int) -> None:
        with server.client() as client:
            session_id = create_session(client)
            _, events = stream(client, session_id, f"hello number {index}")
            done.append(events[-1][1])

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with server.client() as client:
        usage = client.get("/v1/usage").json()
    assert len(done) == 12
    costs = [Decimal(str(payload["request_cost"])) for payload in done]
    for payload, cost in zip(done, costs, strict=True):
        budget = payload["budget"]
        assert isinstance(budget, dict)
        # The turn's own ledger row was written before its budget was read.
        assert Decimal(budget["spent"]) >= cost > 0
    assert usage["totals"]["requests"] == 12
    assert Decimal(usage["totals"]["cost"]) == sum(costs)

"""A stop (the worker's SIGTERM) that lands while a line is being saved.

The save goes on in its thread whatever the task does; once the store holds the line
as done, the runner's summary must count it, and its cost: the worker's last words
("ran N lines: N ok", the spend) may not leave out a line that was run and paid for.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent.batch import BatchDefaults, BatchRunner, parse_batch
from alltoken_agent.store import Store
from alltoken_agent.store.batches import BatchRepository
from tests.gateway.helpers import gateway_for


async def test_a_stop_during_a_lines_save_still_counts_the_saved_line(
    sim: Any, store: Store
) -> None:
    text = '{"prompt": "hi"}\n'
    parsed = parse_batch(text, text.encode(), BatchDefaults(tools="none"))
    repo = BatchRepository.of(store)
    repo.open_run(
        parsed.run_id, input_sha256="0" * 64, input_name="in.jsonl", settings={}, items=parsed.items
    )
    loop = asyncio.get_running_loop()
    stopped: list[str] = []

    async with gateway_for(sim) as gateway:
        runner = BatchRunner(repo, gateway, run_id=parsed.run_id)
        task = asyncio.ensure_future(runner.run())

        def stop_mid_save(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # The line's output going in (the save): stop the run from here, and hold the
            # save long enough that the stop reaches the task before the save ends.
            if statement.startswith("UPDATE batch_items") and "output=" in statement:
                stopped.append(statement)
                loop.call_soon_threadsafe(task.cancel)
                time.sleep(0.2)

        sa.event.listen(store._db.engine, "before_cursor_execute", stop_mid_save)
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            sa.event.remove(store._db.engine, "before_cursor_execute", stop_mid_save)

    assert len(stopped) == 1  # the stop came during the save, not before or after it
    [item] = repo.items(parsed.run_id)
    assert item.status == "done"
    summary = runner.summary
    assert (summary.ok, summary.failed, summary.ran) == (1, 0, [item.line])
    assert summary.spent > 0 and summary.unknown_costs == 0

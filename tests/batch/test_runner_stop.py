"""A stop (the worker's SIGTERM) that lands while a line or a media job is being saved.

The save goes on in its thread whatever the task does; once the store holds the line
as done (the job as completed), the runner's summary must count it, and its cost: the
worker's last words ("ran N lines: N ok", the spend) may not leave out a result that
was made and paid for.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent.batch import BatchDefaults, BatchRunner, parse_batch
from alltoken_agent.batch.media_queue import MediaQueueRunner
from alltoken_agent.catalog import Catalog
from alltoken_agent.media import Media
from alltoken_agent.store import Store
from alltoken_agent.store.batches import BatchRepository
from alltoken_agent.store.media_queue import MediaJobQueue
from tests.gateway.helpers import gateway_for
from tests.media.conftest import media_gateway


def stop_during(store: Store, task: asyncio.Future[Any], saving: Any) -> Any:
    """A listener that cancels ``task`` from inside the statement ``saving`` picks, once.

    It holds the statement a moment, so the cancel reaches the task while the save is
    still going on in its thread.
    """
    loop = asyncio.get_running_loop()
    stopped: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if not stopped and saving(statement, parameters):
            stopped.append(statement)
            loop.call_soon_threadsafe(task.cancel)
            time.sleep(0.2)

    listener.stopped = stopped  # type: ignore[attr-defined]
    sa.event.listen(store._db.engine, "before_cursor_execute", listener)
    return listener


async def test_a_stop_during_a_lines_save_still_counts_the_saved_line(
    sim: Any, store: Store
) -> None:
    text = '{"prompt": "hi"}\n'
    parsed = parse_batch(text, text.encode(), BatchDefaults(tools="none"))
    repo = BatchRepository.of(store)
    repo.open_run(
        parsed.run_id, input_sha256="0" * 64, input_name="in.jsonl", settings={}, items=parsed.items
    )
    async with gateway_for(sim) as gateway:
        runner = BatchRunner(repo, gateway, run_id=parsed.run_id)
        task = asyncio.ensure_future(runner.run())
        # The line's output going in: the save.
        listener = stop_during(
            store, task, lambda sql, _: sql.startswith("UPDATE batch_items") and "output=" in sql
        )
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            sa.event.remove(store._db.engine, "before_cursor_execute", listener)
    stopped = listener.stopped

    assert len(stopped) == 1  # the stop came during the save, not before or after it
    [item] = repo.items(parsed.run_id)
    assert item.status == "done"
    summary = runner.summary
    assert (summary.ok, summary.failed, summary.ran) == (1, 0, [item.line])
    assert summary.spent > 0 and summary.unknown_costs == 0


async def test_a_stop_while_a_media_job_is_completed_still_counts_it(
    sim: Any, store: Store, tmp_path: Path
) -> None:
    folder = str(tmp_path / "media") + os.sep
    queue = MediaJobQueue.of(store)
    async with media_gateway(sim) as gateway:
        media = Media(gateway, store)
        record = await media.images.create_job("a fox", size="64x64", save_to=folder)
        queue.enqueue(record.id)
        prices = await Catalog(gateway).prices()  # as the worker prices its jobs
        runner = MediaQueueRunner(
            queue, gateway, media=media, folder=folder, concurrency=1, prices=prices
        )
        task = asyncio.ensure_future(runner.run())

        def completing(sql: str, parameters: Any) -> bool:
            return sql.startswith("UPDATE media_jobs") and "completed" in repr(parameters)

        listener = stop_during(store, task, completing)
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            sa.event.remove(store._db.engine, "before_cursor_execute", listener)
    assert len(listener.stopped) == 1  # the stop came while the job was being completed
    saved = store.media_jobs.get(record.id)
    assert saved is not None and saved.status == "completed" and saved.files
    assert all(Path(item["path"]).is_file() for item in saved.files)
    summary = runner.summary
    assert (summary.ok, summary.failed, summary.unknown_costs) == (1, 0, 0)
    assert summary.spent > 0

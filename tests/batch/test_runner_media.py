"""BatchRunner on media lines, through the Python API: a line whose job outlives the poll
deadline fails, and retrying it polls the same job (never a second submit)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway
from alltoken_agent.batch import BatchDefaults, BatchRunner, parse_batch
from alltoken_agent.media import Media, PollPolicy
from alltoken_agent.store import Store
from alltoken_agent.store.batches import BatchRepository
from tests.media.conftest import media_gateway

pytestmark = pytest.mark.slow

SHORT = PollPolicy(initial=0.01, interval=0.05, jitter=0.0, deadline=0.3)
"""Gives up on a job long before the simulator finishes it."""


@pytest.fixture
async def gateway(sim: Any, store: Store) -> AsyncIterator[Gateway]:
    async with media_gateway(sim) as opened:
        yield opened


async def test_a_line_left_pending_is_polled_not_resubmitted_when_retried(
    sim: Any, store: Store, gateway: Gateway, tmp_path: Path
) -> None:
    sim.state.media.image_seconds = 30
    text = '{"prompt": "a fox", "size": "64x64"}\n'
    defaults = BatchDefaults(kind="image", media_dir=str(tmp_path / "out") + os.sep)
    parsed = parse_batch(text, text.encode(), defaults)
    repo = BatchRepository.of(store)
    repo.open_run(
        parsed.run_id, input_sha256="0" * 64, input_name="in.jsonl", settings={}, items=parsed.items
    )

    first = await BatchRunner(
        repo, gateway, run_id=parsed.run_id, media_poll=SHORT, media=Media(gateway, store)
    ).run()

    assert first.failed == 1
    [item] = repo.items(parsed.run_id)
    assert item.status == "failed" and item.output is not None
    job_id = item.output["job_id"]
    assert item.output["error"]["status"] == "pending"
    assert store.media_jobs.get(job_id).status == "pending"  # type: ignore[union-attr]

    assert repo.requeue_failed(parsed.run_id) == 1
    [queued] = repo.items(parsed.run_id)
    assert queued.request is not None and queued.request["job_id"] == job_id  # kept: unfinished
    sim.state.media.advance(30)
    again = await BatchRunner(
        repo, gateway, run_id=parsed.run_id, media_poll=SHORT, media=Media(gateway, store)
    ).run()

    assert again.ok == 1
    [done] = repo.items(parsed.run_id)
    assert done.output is not None and done.output["job_id"] == job_id
    assert [Path(p).name for p in done.output["files"]] == ["001-a-fox.png"]
    assert sim.state.media.submits == {"image": 1}

"""Jobs have an owner: journaled with it, and found, resumed or cancelled only by it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway, MediaJobError, UserError
from alltoken_agent.media import Media, PollPolicy
from alltoken_agent.media.events import JobEvent
from alltoken_agent.store import Store
from tests.media.conftest import FAST, wire

ALICE = "key_" + "a" * 32
BOB = "key_" + "b" * 32


async def test_generate_journals_the_owner_and_only_that_owner_finds_the_job(
    gw: Gateway,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    result = await media.images.generate("a fox", save_to=out, poll=FAST, owner=ALICE)
    job = store.media_jobs.get(result.job_id, owner=ALICE)
    assert job is not None and job.owner == ALICE and job.status == "completed"
    assert store.media_jobs.get(result.job_id) is None  # not a local job
    assert (await media.find(result.job_id, owner=ALICE)).id == result.job_id
    for owner in (None, BOB):
        with pytest.raises(UserError, match="no media job"):
            await media.find(result.job_id, owner=owner)
        with pytest.raises(UserError, match="no media job"):
            await media.images.resume(result.job_id, owner=owner)
    again = await media.resume(result.job_id, owner=ALICE)
    assert again.paths == result.paths


async def test_the_default_owner_is_local_so_existing_callers_see_their_jobs(
    gw: Gateway,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    result = await media.images.generate("a fox", save_to=out, poll=FAST)
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.owner is None
    with pytest.raises(UserError):
        await media.find(result.job_id, owner=ALICE)


async def test_create_job_journals_without_sending_and_resume_runs_it(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    events: list[JobEvent],
    media: Media,
) -> None:
    record = await media.videos.create_job("a fox runs", duration=5, save_to=out, owner=ALICE)
    assert (record.status, record.owner, record.task_id) == ("submitting", ALICE, None)
    assert wire(sim, "/v1/videos/generations") == []
    assert [j.id for j in await media.pending(owner=ALICE)] == [record.id]
    assert await media.pending() == [] and await media.videos.pending(owner=BOB) == []
    result = await media.videos.resume(record.id, owner=ALICE, poll=FAST, on_progress=events.append)
    assert result.job_id == record.id and result.path.is_file()
    assert events[0].name == "job:submitted" and events[-1].name == "job:done"
    (create,) = wire(sim, "/v1/videos/generations")
    assert create.json["duration"] == 5
    assert await media.videos.pending(owner=ALICE) == []


async def test_create_job_refuses_bad_options_before_journaling(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    with pytest.raises(UserError, match="multiples of 16"):
        await media.images.create_job("a fox", size="100x100", save_to=out, owner=ALICE)
    assert store.media_jobs.list_jobs(owner=ALICE) == [] and sim.state.requests == []


async def test_cancel_takes_the_owner_and_a_failure_carries_the_gateway_code(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.video_seconds = 30
    record = await media.videos.create_job("a fox", save_to=out, owner=ALICE)
    # Submit it (it stays pending at this short deadline), then cancel it as its owner.
    with pytest.raises(MediaJobError, match="stays pending") as pending:
        await media.videos.resume(
            record.id, owner=ALICE, poll=PollPolicy(initial=0.01, interval=0.02, deadline=0.05)
        )
    assert pending.value.job_id == record.id and pending.value.status == "pending"
    with pytest.raises(UserError, match="no media job"):
        await media.cancel(record.id, owner=BOB)
    task = await media.cancel(record.id, owner=ALICE)
    assert task.status == "cancelled"
    job = store.media_jobs.get(record.id, owner=ALICE)
    assert job is not None and job.status == "cancelled"

    sim.state.media.video_seconds = 0.1
    sim.state.media.enqueue_job_faults(["fail:upstream_content_violation"])
    with pytest.raises(MediaJobError) as failed:
        await media.videos.generate("a fox", save_to=out, poll=FAST, owner=ALICE)
    assert failed.value.code == "upstream_content_violation"
    assert failed.value.status == "failed" and failed.value.job_id

"""Batches of both kinds and the first poll's delay, over loopback on the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway, MediaJobError, UserError
from alltoken_agent.media import ImageResult, JobEvent, Media, VideoResult
from alltoken_agent.store import Store
from tests.media.conftest import FAST


class InFlight:
    """Counts jobs between ``job:submitted`` and ``job:done`` (or their failure)."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def __call__(self, event: JobEvent) -> None:
        if event.name == "job:submitted":
            self.now += 1
            self.peak = max(self.peak, self.now)
        elif event.name == "job:done":
            self.now -= 1


async def test_generate_many_never_runs_more_than_concurrency_jobs_at_once(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.image_seconds = 0.1
    watch = InFlight()
    prompts = [f"fox {i}" for i in range(6)]
    results = await media.images.generate_many(
        prompts, concurrency=2, save_to=out, poll=FAST, size="32x32", on_progress=watch
    )
    assert watch.peak <= 2 and sim.state.media.submits == {"image": 6}
    assert all(isinstance(r, ImageResult) for r in results)
    journaled = [store.media_jobs.get(r.job_id) for r in results if isinstance(r, ImageResult)]
    assert [job.params["prompt"] for job in journaled if job] == prompts  # input order


async def test_videos_generate_many_isolates_failures_and_keeps_the_order(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["fail:upstream_content_violation"])  # the 1st create
    prompts = ["one", "  ", "three", "four"]  # the 2nd is refused before any request
    results = await media.videos.generate_many(prompts, concurrency=1, save_to=out, poll=FAST)
    failed, refused, *done = results
    assert isinstance(failed, MediaJobError) and "upstream_content_violation" in str(failed)
    assert isinstance(refused, UserError) and "empty" in str(refused)
    assert all(isinstance(result, VideoResult) for result in done)
    for result, prompt in zip(done, ["three", "four"], strict=True):
        assert isinstance(result, VideoResult) and result.path.read_bytes()[4:8] == b"ftyp"
        job = store.media_jobs.get(result.job_id)
        assert job is not None and job.params["prompt"] == prompt
    statuses = sorted((job.params["prompt"], job.status) for job in store.media_jobs.list_jobs())
    assert statuses == [("four", "completed"), ("one", "failed"), ("three", "completed")]


@pytest.mark.slow
async def test_the_first_poll_waits_for_most_of_the_models_usual_time(
    gw: Gateway,
    sim: Any,
    out: Path,
    media: Media,
) -> None:
    # No history: the first poll comes almost at once and finds the job still running.
    sim.state.media.image_seconds = 0.5
    cold = await media.images.generate("a fox", size="32x32", save_to=out, poll=FAST)
    assert cold.task_id is not None and sim.state.media.polls[cold.task_id] >= 2
    # Now the journal says this model takes >= 0.5 s, so the first poll waits >= 0.4 s
    # (0.8 x the median, no jitter in FAST): a 0.05 s job is done by then.
    sim.state.media.image_seconds = 0.05
    warm = await media.images.generate("a fox", size="32x32", save_to=out, poll=FAST)
    assert warm.task_id is not None and sim.state.media.polls[warm.task_id] == 1

"""A submit whose answer was lost is never sent again on its own when that could bill twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, Media, MediaJobError
from alltoken_agent.media.runner import UNCONFIRMED
from alltoken_agent.store import Store
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY
from tests.media.conftest import FAST, wire

DROP_EVERY_TRY = ["accept_then_drop"] * 3  # FAST_RETRY: one try and two retries


async def test_a_lost_tokenhub_answer_is_not_resent_unless_asked(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    th_media: Media,
) -> None:
    th_sim.state.enqueue_faults(["accept_then_drop"])
    with pytest.raises(MediaJobError, match="billed twice") as lost:
        await th_media.images.generate("a crane", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert f"jobs resume {job.id} --resubmit" in str(lost.value)  # what to do, up front
    assert job.status == "submitting" and UNCONFIRMED in job.result

    with pytest.raises(MediaJobError, match="--resubmit") as caught:
        await th_media.images.resume(job.id, poll=FAST)
    assert caught.value.code == "submit_unconfirmed" and caught.value.job_id == job.id
    assert job.id in str(caught.value) and "dashboard" in str(caught.value)
    assert th_sim.state.media.charges == {"image": 1}  # refused before any request
    assert len(wire(th_sim, "/v1/images/generations")) == 1

    result = await th_media.images.resume(job.id, poll=FAST, resubmit=True)
    with Image.open(result.paths[0]) as image:
        image.load()
    assert th_sim.state.media.charges == {"image": 2}  # the caller chose to pay again
    done = store.media_jobs.get(job.id)
    assert done is not None and done.status == "completed" and UNCONFIRMED not in done.result


async def test_a_submit_that_never_reached_the_gateway_is_resent_on_resume(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    th_media: Media,
) -> None:
    th_sim.state.media.enqueue_job_faults(["fail"] * 3)  # a 500 answer for every try
    with pytest.raises(MediaJobError, match="could not be submitted"):
        await th_media.images.generate("a crane", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "submitting" and UNCONFIRMED not in job.result  # it answered: no

    result = await th_media.images.resume(job.id, poll=FAST)
    assert result.paths and store.media_jobs.get(job.id).status == "completed"  # type: ignore[union-attr]


async def test_alltoken_resends_a_lost_submit_inside_its_dedupe_window_only(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.enqueue_faults(DROP_EVERY_TRY)
    with pytest.raises(MediaJobError, match="could not be submitted") as lost:
        await media.images.generate("a fox", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert f"jobs resume {job.id}` within 50 s" in str(lost.value)
    assert job.status == "submitting" and UNCONFIRMED in job.result

    # Within 60 s the same Idempotency-Key finds the task the first try made.
    result = await media.images.resume(job.id, poll=FAST)
    assert result.paths and sim.state.media.charges == {"image": 1}

    sim.state.enqueue_faults(DROP_EVERY_TRY)
    with pytest.raises(MediaJobError):
        await media.images.generate("a hare", save_to=out, poll=FAST)
    late = next(j for j in store.media_jobs.list_jobs() if j.status == "submitting")
    two_minutes_ago = (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat()
    store.media_jobs.update(late.id, result={**late.result, UNCONFIRMED: two_minutes_ago})
    submits = len(wire(sim, "/v1/images/generations/async"))
    with pytest.raises(MediaJobError, match="billed twice") as caught:
        await media.images.resume(late.id, poll=FAST)
    assert caught.value.code == "submit_unconfirmed"
    assert len(wire(sim, "/v1/images/generations/async")) == submits
    assert sim.state.media.charges == {"image": 2}


@pytest.mark.slow
def test_jobs_resume_refuses_then_resubmits_when_told(th_sim: Any, tmp_path: Path) -> None:
    env = {"TOKENHUB_API_KEY": TEST_KEY}
    flags = ["--provider", "tokenhub", "--base-url", th_sim.base_url]
    th_sim.state.enqueue_faults(["accept_then_drop"])
    first = run_cli("image", "a crane", "-o", str(tmp_path / "crane.png"), *flags, env=env)
    assert first.exit_code != 0 and "Traceback" not in first.stderr
    with Store() as store:
        (job,) = store.media_jobs.list_jobs()

    refused = run_cli("jobs", "resume", job.id, *flags, env=env)
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert "submit_unconfirmed" in refused.stderr and f"{job.id} --resubmit" in refused.stderr
    assert th_sim.state.media.charges == {"image": 1}

    needs_id = run_cli("jobs", "resume", "--resubmit", *flags, env=env)
    assert needs_id.exit_code == 2 and "needs a JOB_ID" in needs_id.stderr

    again = run_cli("jobs", "resume", job.id, "--resubmit", *flags, env=env)
    assert again.exit_code == 0, again.stderr
    assert (tmp_path / "crane.png").exists() and th_sim.state.media.charges == {"image": 2}
    outputs = [r.stdout + r.stderr for r in (first, refused, needs_id, again)]
    assert not [text for text in outputs if TEST_KEY in text]

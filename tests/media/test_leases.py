"""One job is finished by one run at a time; a saved result is never called lost.

Two runs in one process race exactly as two processes would: each takes the job's
lease through its own store call (tests/media/test_two_processes.py runs the CLI as
two real processes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway, MediaJobError
from alltoken_agent.media import JobEvent, Media, PollPolicy
from alltoken_agent.store import Store
from tests.media.conftest import FAST

SHORT = PollPolicy(initial=0.01, interval=0.05, jitter=0.0, deadline=0.5)


async def _until(check: Any, what: str) -> None:
    for _ in range(2000):  # bounded: a broken lease must fail the test, not hang it
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {what}")


async def _leased_to(
    holder: str, seconds: float, sim: Any, store: Store, media: Media, out: Path
) -> str:
    """A job left pending by a run that gave up polling, then leased to ``holder``."""
    sim.state.media.enqueue_job_faults(["slow:30"])
    with pytest.raises(MediaJobError):
        await media.images.generate("a fox", save_to=out, poll=SHORT)
    (job,) = store.media_jobs.unfinished()
    assert job.lease_owner is None  # the run gave its lease up
    store.media_jobs.take_lease(job.id, holder, seconds)
    return job.id


@pytest.mark.slow
async def test_a_resume_while_the_first_run_polls_waits_and_both_get_the_saved_image(
    sim: Any,
    gw: Gateway,
    out: Path,
    media: Media,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="alltoken_agent")
    sim.state.media.enqueue_job_faults(["slow:30"])
    first_events: list[JobEvent] = []
    first = asyncio.create_task(
        media.images.generate(
            "a fox", save_to=out / "fox.png", poll=FAST, on_progress=first_events.append
        )
    )
    await _until(lambda: any(e.name == "job:submitted" for e in first_events), "the submit")
    job_id = first_events[0].job_id
    task_id = first_events[0].task_id  # type: ignore[union-attr]
    await _until(lambda: sim.state.media.polls.get(task_id), "the first poll")

    second_events: list[JobEvent] = []
    second = asyncio.create_task(media.resume(job_id, poll=FAST, on_progress=second_events.append))
    await _until(
        lambda: [e for e in second_events if getattr(e, "status", None) == "waiting"],
        "the second run waiting",
    )
    polls_before = sim.state.media.polls[task_id]
    sim.state.media.advance(30)  # the task completes; only the lease holder claims it
    one, two = await asyncio.wait_for(asyncio.gather(first, second), timeout=60)

    assert one.paths == two.paths == [out / "fox.png"] and (out / "fox.png").is_file()
    assert sim.state.media.submits == {"image": 1}
    record = await media.images.journal.get(job_id)
    assert record is not None and record.status == "completed" and record.error is None
    assert record.lease_owner is None  # given up by both
    # The waiting run never polled the task: it found the job finished in the journal.
    assert not [e for e in second_events if getattr(e, "status", None) == "completed"]
    assert sim.state.media.polls[task_id] >= polls_before
    # The lease it waited for was given up, not left: no takeover to tell.
    assert not [m for m in caplog.messages if "taking over" in m]


@pytest.mark.slow
async def test_a_lease_held_past_the_deadline_ends_in_job_busy_and_leaves_the_job(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
) -> None:
    job_id = await _leased_to("elsewhere.example/1/abcd", 60, sim, store, media, out)
    polls = dict(sim.state.media.polls)
    with pytest.raises(MediaJobError) as caught:
        await media.resume(job_id, poll=SHORT)
    assert caught.value.code == "job_busy" and "another process" in str(caught.value)
    assert "elsewhere.example/1/abcd" in str(caught.value)
    assert sim.state.media.polls == polls  # the gateway was not asked
    after = store.media_jobs.get(job_id)
    assert after is not None and after.status == "pending"
    assert after.lease_owner == "elsewhere.example/1/abcd"


@pytest.mark.skipif(sys.platform == "win32", reason="a dead pid is checked on POSIX only")
async def test_the_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = f"{socket.gethostname()}/{_pid_of_finished_child()}/dead"  # killed, say
    job_id = await _leased_to(dead, 600, sim, store, media, out)
    sim.state.media.advance(30)
    events: list[JobEvent] = []
    with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
        result = await media.resume(job_id, poll=FAST, on_progress=events.append)
    assert result.paths[0].is_file()
    assert not [e for e in events if getattr(e, "status", None) == "waiting"]
    # A takeover is said where the lease is taken, whoever started the run.
    assert f"taking over media job {job_id}, left by {dead}" in caplog.messages


async def test_a_lease_that_ran_out_is_taken_over_and_said_so_and_a_fresh_job_is_not(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hung = "elsewhere.example/1/abcd"  # another host's holder: only its lease tells
    with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
        job_id = await _leased_to(hung, 0, sim, store, media, out)  # and it has run out
        assert not [m for m in caplog.messages if "taking over" in m]  # nobody held it
        sim.state.media.advance(30)
        result = await media.resume(job_id, poll=FAST)
    assert result.paths[0].is_file()
    assert f"taking over media job {job_id}, left by {hung}" in caplog.messages


async def test_a_lease_that_runs_out_while_a_run_waits_for_it_is_a_takeover_said_so(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hung = "elsewhere.example/1/abcd"  # alive as far as this host can tell; it never renews
    job_id = await _leased_to(hung, 1, sim, store, media, out)
    sim.state.media.advance(30)
    events: list[JobEvent] = []
    with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
        result = await media.resume(job_id, poll=FAST, on_progress=events.append)
    assert result.paths[0].is_file()
    assert [e for e in events if getattr(e, "status", None) == "waiting"]  # it did wait
    assert f"taking over media job {job_id}, left by {hung}" in caplog.messages


@pytest.mark.skipif(sys.platform == "win32", reason="a dead pid is checked on POSIX only")
async def test_a_holder_killed_while_a_run_waits_for_it_is_taken_over_and_said_so(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A server replica's task that found the job while its holder still ran: the holder
    # is SIGKILLed mid-lease, and the waiting run takes the dead one's lease at once.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        holder = f"{socket.gethostname()}/{child.pid}/live"
        job_id = await _leased_to(holder, 600, sim, store, media, out)
        sim.state.media.advance(30)
        events: list[JobEvent] = []
        with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
            run = asyncio.create_task(media.resume(job_id, poll=FAST, on_progress=events.append))
            await _until(
                lambda: [e for e in events if getattr(e, "status", None) == "waiting"],
                "the run waiting for the live holder",
            )
            child.kill()
            child.wait()
            result = await asyncio.wait_for(run, 30)
    finally:
        child.kill()
        child.wait()
    assert result.paths[0].is_file()
    assert f"taking over media job {job_id}, left by {holder}" in caplog.messages


def _pid_of_finished_child() -> int:
    """The pid of a process that has ended (and was reaped): no process has it now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_410_for_an_image_whose_file_was_saved_completes_the_job(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["no_r2"])  # a second GET is 410 image_already_retrieved
    result = await media.images.generate("a fox", save_to=out, poll=FAST)
    # Another process claimed and saved the image, and this run's journal view is stale:
    # the row says pending, with the files already journaled (step 2 of saving).
    store.media_jobs.update(result.job_id, status="pending", result={}, completed_at=None)
    again = await media.resume(result.job_id, poll=FAST)
    assert again.paths == result.paths
    record = store.media_jobs.get(result.job_id)
    assert record is not None and record.status == "completed" and record.error_code is None
    assert sim.state.media.submits == {"image": 1}


async def test_a_410_after_a_run_wrote_the_image_but_died_before_journaling_it_completes(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["no_r2"])
    result = await media.images.generate("a fox", save_to=out, poll=FAST)
    (saved,) = result.paths
    assert saved == out / f"{result.job_id}.png"
    # The run was killed between writing the bytes and journaling them.
    store.media_jobs.update(result.job_id, status="pending", files=[], result={}, completed_at=None)
    again = await media.resume(result.job_id, poll=FAST)
    assert again.paths == [saved]
    record = store.media_jobs.get(result.job_id)
    assert record is not None and (record.status, record.error_code) == ("completed", None)
    assert record.files[0]["path"] == str(saved) and record.files[0]["mime_type"] == "image/png"


async def test_an_older_file_at_a_file_target_is_not_taken_for_the_lost_image(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["no_r2"])
    target = out / "fox.png"
    result = await media.images.generate("a fox", save_to=target, poll=FAST)
    os.utime(target, (0, 0))  # a file from before the job: not evidence of its result
    store.media_jobs.update(result.job_id, status="pending", files=[], result={}, completed_at=None)
    with pytest.raises(MediaJobError) as caught:
        await media.resume(result.job_id, poll=FAST)
    assert caught.value.code == "image_already_retrieved"
    record = store.media_jobs.get(result.job_id)
    assert record is not None and record.status == "failed" and target.is_file()

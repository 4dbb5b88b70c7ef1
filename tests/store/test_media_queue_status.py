"""Jobs a server hands to workers: ``queued``, taken at once by a claim, or cancelled unsent.

A claim and a cancel are each one conditional UPDATE of the row, so whichever comes
first wins and the other changes nothing: a job cancelled while queued is never sent.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.errors import MediaJobError, UserError
from alltoken_agent.media import Media
from alltoken_agent.store import Store
from alltoken_agent.store.media import MediaJobRecord
from alltoken_agent.store.media_queue import MediaJobQueue
from tests.media.conftest import media_gateway

OWNER = "key_1"
A_DAY = 86_400.0
"""A grace no unleased ``submitting`` job gets past in a test: only queued ones are taken."""


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "media") + os.sep


def queued(store: Store, folder: str, prompt: str = "a fox") -> MediaJobRecord:
    """A job journaled as a server's POST does, then handed to the workers."""
    job = store.media_jobs.create(
        kind="image",
        provider="alltoken",
        dialect="alltoken",
        model="gpt-image-2",
        params={"prompt": prompt},
        output_path=f"{folder}{OWNER}{os.sep}",
        idempotency_key="ata-0",
        owner=OWNER,
    )
    return MediaJobQueue.of(store).enqueue(job.id)


def test_a_queued_job_is_taken_at_once_and_moves_to_submitting(store: Store, folder: str) -> None:
    queue = MediaJobQueue.of(store)
    job = queued(store, folder)
    assert job.status == "queued" and job.never_sent and not job.finished
    assert queue.waiting(owner=OWNER) == 1 and queue.waiting(owner=None) == 0

    taken = queue.claim("host/1/a", 30, folder=folder, grace=A_DAY)

    assert taken is not None and taken.id == job.id
    assert taken.status == "submitting" and taken.lease_owner == "host/1/a"
    assert queue.claim("host/2/b", 30, folder=folder, grace=A_DAY) is None  # taken once
    assert queue.waiting(owner=OWNER) == 0


def test_an_unsent_job_that_was_not_queued_still_waits_the_grace(store: Store, folder: str) -> None:
    store.media_jobs.create(
        kind="image", provider="alltoken", dialect="alltoken", model="gpt-image-2",
        params={"prompt": "a fox"}, output_path=f"{folder}{OWNER}{os.sep}",
        idempotency_key="ata-1", owner=OWNER,
    )  # fmt: skip

    assert MediaJobQueue.of(store).claim("host/1/a", 30, folder=folder, grace=A_DAY) is None


def test_a_cancel_after_a_claim_changes_nothing_and_a_claim_after_a_cancel_takes_nothing(
    store: Store, folder: str
) -> None:
    queue = MediaJobQueue.of(store)
    first = queued(store, folder, "one")
    assert queue.claim("host/1/a", 30, folder=folder, grace=A_DAY) is not None

    assert queue.cancel(first.id, owner=OWNER) is None  # a worker has it: it may be sending
    assert store.media_jobs.get(first.id, owner=OWNER).status == "submitting"  # type: ignore[union-attr]

    second = queued(store, folder, "two")
    assert queue.cancel(second.id, owner="key_2") is None  # another key's job: untouched
    cancelled = queue.cancel(second.id, owner=OWNER)

    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.error_code == "cancelled" and cancelled.completed_at is not None
    assert cancelled.task_id is None
    assert queue.claim("host/2/b", 30, folder=folder, grace=A_DAY) is None
    assert queue.cancel(second.id, owner=OWNER) is None  # once


def test_only_a_fresh_unsent_job_can_be_queued(store: Store, folder: str) -> None:
    job = queued(store, folder)
    store.media_jobs.update(job.id, status="pending", task_id="igen_1")

    with pytest.raises(UserError, match="not a fresh unsent job"):
        MediaJobQueue.of(store).enqueue(job.id)
    assert store.media_jobs.get(job.id, owner=OWNER).status == "pending"  # type: ignore[union-attr]


def test_a_queued_job_resumed_by_hand_is_sent_once_and_never_shows_queued_while_it_runs(
    store: Store, folder: str, sim: Any
) -> None:
    sim.state.media.image_seconds = 0.05
    seen: list[str] = []

    def status(job_id: str) -> str:
        record = store.media_jobs.get(job_id, owner=OWNER)
        assert record is not None
        return record.status

    async def resume() -> str:
        async with media_gateway(sim) as gateway:
            images = Media(gateway, store).images
            job = await images.create_job(
                "a fox", size="1024x1024", save_to=f"{folder}{OWNER}{os.sep}", owner=OWNER
            )
            MediaJobQueue.of(store).enqueue(job.id)
            assert status(job.id) == "queued"
            await images.resume(
                job.id, owner=OWNER, on_progress=lambda _: seen.append(status(job.id))
            )
            return job.id

    job_id = asyncio.run(resume())

    assert seen and "queued" not in seen
    done = store.media_jobs.get(job_id, owner=OWNER)
    assert done is not None and done.status == "completed" and len(done.files) == 1
    assert sim.state.media.submits == {"image": 1}


def test_a_queued_job_taken_by_hand_whose_submit_is_lost_is_in_doubt_never_queued_again(
    store: Store, folder: str, sim: Any
) -> None:
    sim.state.enqueue_faults(["disconnect:0"] * 3)  # every try of the submit: no answer

    async def resume() -> str:
        async with media_gateway(sim) as gateway:
            images = Media(gateway, store).images
            job = await images.create_job(
                "a fox", size="1024x1024", save_to=f"{folder}{OWNER}{os.sep}", owner=OWNER
            )
            MediaJobQueue.of(store).enqueue(job.id)
            with pytest.raises(MediaJobError):
                await images.resume(job.id, owner=OWNER)
            return job.id

    job_id = asyncio.run(resume())

    record = store.media_jobs.get(job_id, owner=OWNER)
    assert record is not None and not record.never_sent  # it may have reached the gateway
    assert record.status == "submitting"  # taken: no longer waiting for a worker
    assert MediaJobQueue.of(store).claim("host/1/a", 30, folder=folder, grace=0) is None

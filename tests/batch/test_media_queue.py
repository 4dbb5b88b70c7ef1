"""Which journaled media jobs a worker takes, and that two takers never get the same one.

Jobs are journaled straight in a real store (SQLite here; PostgreSQL in
tests/cli/test_worker_media.py), as a server's POST routes journal them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from alltoken_agent.store import Store
from alltoken_agent.store.media import SUBMIT_SENT, MediaJobRecord
from alltoken_agent.store.media_queue import MediaJobQueue
from alltoken_agent.store.schema import media_jobs


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "media") + os.sep


def journal(store: Store, output: str, **result: object) -> MediaJobRecord:
    return store.media_jobs.create(
        kind="image",
        provider="alltoken",
        dialect="alltoken",
        model="gpt-image-2",
        params={"prompt": "a fox"},
        output_path=output,
        idempotency_key="ata-0",
        owner="key_1",
        result=result,
    )


def age(store: Store, job_id: str, seconds: float) -> None:
    """Make the job look journaled ``seconds`` ago."""
    then = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    with store._db.write() as conn:
        conn.execute(sa.update(media_jobs).where(media_jobs.c.id == job_id).values(updated_at=then))


def dead_holder() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}/{child.pid}/dead"


def test_a_job_nobody_finishes_under_the_folder_is_taken_once(store: Store, folder: str) -> None:
    queue = MediaJobQueue.of(store)
    job = journal(store, folder + "key_1" + os.sep)
    age(store, job.id, 60)

    taken = queue.claim("w/1/a", 30, folder=folder, grace=30)

    assert taken is not None and taken.id == job.id and taken.lease_owner == "w/1/a"
    assert queue.claim("w/2/b", 30, folder=folder, grace=30) is None  # leased to w/1/a now
    queue.release(job.id, "w/1/a")
    again = queue.claim("w/2/b", 30, folder=folder, grace=30)
    assert again is not None and again.lease_owner == "w/2/b"


def test_jobs_a_worker_must_leave_alone(store: Store, folder: str, tmp_path: Path) -> None:
    queue = MediaJobQueue.of(store)
    outside = journal(store, str(tmp_path / "cli") + os.sep)  # a CLI job: its person resumes it
    in_doubt = journal(store, folder, **{SUBMIT_SENT: "2026-01-01T00:00:00+00:00"})
    fresh = journal(store, folder)  # just journaled: its server leases it next
    live = journal(store, folder)
    for job in (outside, in_doubt, live):
        age(store, job.id, 60)
    assert store.media_jobs.take_lease(live.id, "elsewhere/1/x", 600).lease_owner

    assert queue.claim("w/1/a", 30, folder=folder, grace=30) is None

    finished = store.media_jobs.update(fresh.id, status="completed")
    assert queue.claim("w/1/a", 30, folder=folder, grace=0) is None  # completed: nothing to do
    assert finished.finished


def test_a_dead_holders_job_is_taken_at_once(store: Store, folder: str) -> None:
    queue = MediaJobQueue.of(store)
    job = journal(store, folder)
    store.media_jobs.update(job.id, status="pending", task_id="igen_1")
    assert store.media_jobs.take_lease(job.id, dead_holder(), 600).lease_owner

    taken = queue.claim("w/1/a", 30, folder=folder, grace=30)

    assert taken is not None and taken.id == job.id and taken.lease_owner == "w/1/a"


@pytest.mark.slow
def test_racing_takers_never_get_the_same_job(store: Store, folder: str) -> None:
    queue = MediaJobQueue.of(store)
    jobs = [journal(store, folder) for _ in range(30)]
    for job in jobs:
        age(store, job.id, 60)
    taken: list[str] = []
    lock = threading.Lock()

    def drain(holder: str) -> None:
        while (job := queue.claim(holder, 600, folder=folder, grace=30)) is not None:
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=drain, args=(f"h/{n}/t",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(taken) == sorted(job.id for job in jobs)

"""The media job journal: written before the submit, updated as the job moves."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from alltoken_agent import UserError
from alltoken_agent.store import Store
from alltoken_agent.store.media import MediaJobRecord
from tests.server.conftest import pg_url  # noqa: F401 - the PostgreSQL fixture, reused


def _job(store: Store, model: str = "gpt-image-2", **extra: Any) -> MediaJobRecord:
    return store.media_jobs.create(
        kind="image",
        provider="alltoken",
        dialect="alltoken",
        model=model,
        params={"prompt": "a fox", "n": 1},
        request={"model": model, "prompt": "a fox"},
        output_path="/tmp/out/",
        idempotency_key="ata-key",
        **extra,
    )


def test_a_new_job_is_submitting_with_its_key_and_output_path(store: Store) -> None:
    job = _job(store)
    assert job.id.startswith("job_") and len(job.id) == 20
    again = store.media_jobs.get(job.id)
    assert again == job
    assert (again.status, again.idempotency_key, again.output_path) == (
        "submitting",
        "ata-key",
        "/tmp/out/",
    )
    assert again.task_id is None and again.files == [] and not again.finished


def test_updates_change_only_the_given_fields_and_final_states_are_stamped(store: Store) -> None:
    job = _job(store)
    pending = store.media_jobs.update(job.id, status="pending", task_id="igen_1")
    assert (pending.status, pending.task_id, pending.completed_at) == ("pending", "igen_1", None)
    assert pending.params == job.params and pending.updated_at >= job.updated_at
    done = store.media_jobs.update(
        job.id, status="completed", files=[{"path": "/tmp/out/a.png", "size": 3}]
    )
    assert done.finished and done.completed_at is not None
    assert done.files == [{"path": "/tmp/out/a.png", "size": 3}]
    assert done.task_id == "igen_1"


def test_find_takes_a_job_id_or_the_gateways_task_id(store: Store) -> None:
    job = _job(store)
    store.media_jobs.update(job.id, task_id="igen_abc")
    assert store.media_jobs.find(job.id).id == job.id  # type: ignore[union-attr]
    assert store.media_jobs.find("igen_abc").id == job.id  # type: ignore[union-attr]
    assert store.media_jobs.find("nope") is None


def test_unfinished_lists_submitting_and_pending_jobs_oldest_first(store: Store) -> None:
    first, second, third = _job(store), _job(store), _job(store)
    store.media_jobs.update(second.id, status="pending")
    store.media_jobs.update(third.id, status="failed", error="boom")
    assert [j.id for j in store.media_jobs.unfinished()] == [first.id, second.id]
    assert [j.id for j in store.media_jobs.list_jobs(statuses=["failed"])] == [third.id]
    assert [j.id for j in store.media_jobs.list_jobs(limit=2)] == [third.id, second.id]
    assert store.media_jobs.list_jobs(kind="video") == []


def test_jobs_are_scoped_to_their_owner(store: Store) -> None:
    mine = _job(store, owner="key-1")
    assert store.media_jobs.get(mine.id) is None
    assert store.media_jobs.get(mine.id, owner="key-1") == mine
    assert store.media_jobs.unfinished() == []


def test_find_list_and_unfinished_see_only_their_owners_jobs(store: Store) -> None:
    local, alice, bob = _job(store), _job(store, owner="key_a"), _job(store, owner="key_b")
    for job, task in ((local, "igen_local"), (alice, "igen_a"), (bob, "igen_b")):
        store.media_jobs.update(job.id, status="pending", task_id=task)
    # By job id and by the gateway's task id: another owner's job does not exist.
    assert store.media_jobs.find(alice.id, owner="key_a").id == alice.id  # type: ignore[union-attr]
    assert store.media_jobs.find("igen_a", owner="key_a").id == alice.id  # type: ignore[union-attr]
    assert store.media_jobs.find(alice.id, owner="key_b") is None
    assert store.media_jobs.find("igen_a", owner="key_b") is None
    assert store.media_jobs.find("igen_a") is None  # None is the local owner, not "any"
    assert store.media_jobs.find("igen_local", owner="key_a") is None
    assert [j.id for j in store.media_jobs.list_jobs(owner="key_b")] == [bob.id]
    assert [j.id for j in store.media_jobs.list_jobs()] == [local.id]
    assert [j.id for j in store.media_jobs.unfinished(owner="key_a")] == [alice.id]
    assert [j.id for j in store.media_jobs.unfinished()] == [local.id]


def test_median_seconds_comes_from_completed_jobs_of_the_same_model(store: Store) -> None:
    assert store.media_jobs.median_seconds("image", "gpt-image-2") is None
    for seconds in (10, 20, 60):
        job = _job(store)
        started = job.created_at
        store.media_jobs.update(
            job.id,
            status="completed",
            submitted_at=started,
            completed_at=started + timedelta(seconds=seconds),
        )
    other = _job(store, model="wan2.7-image")
    store.media_jobs.update(other.id, status="completed", submitted_at=other.created_at)
    assert store.media_jobs.median_seconds("image", "gpt-image-2") == pytest.approx(20)


def test_bad_values_are_refused_before_any_write(store: Store) -> None:
    with pytest.raises(UserError, match="kind"):
        store.media_jobs.create(
            kind="audio",  # type: ignore[arg-type]
            provider="p",
            dialect="alltoken",
            model="m",
            params={},
            output_path="/tmp/",
            idempotency_key=None,
        )
    job = _job(store)
    with pytest.raises(UserError, match="status"):
        store.media_jobs.update(job.id, status="lost")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="no media job"):
        store.media_jobs.update("job_missing", status="failed")
    assert store.media_jobs.list_jobs() == [job]


def test_the_migration_creates_the_indexes_the_queries_use(store: Store, db_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{db_path}")
    try:
        indexes = {
            index["name"]: index["column_names"]
            for index in sa.inspect(engine).get_indexes("media_jobs")
        }
    finally:
        engine.dispose()
    assert indexes == {
        "ix_media_jobs_status_created_at": ["status", "created_at"],
        "ix_media_jobs_task_id": ["task_id"],
        "ix_media_jobs_model_completed_at": ["model", "completed_at"],
        "ix_media_jobs_owner_created_at": ["owner", "created_at"],
    }
    assert "m003_media_jobs" in store.applied_migrations()


# -- the lease: one process finishes a job at a time ----------------------------------


def test_one_holder_leases_a_job_at_a_time(any_store: Store) -> None:
    jobs, job = any_store.media_jobs, _job(any_store)
    assert jobs.take_lease(job.id, "host/1/a", 30).lease_owner == "host/1/a"
    held = jobs.take_lease(job.id, "host/2/b", 30)
    assert held.lease_owner == "host/1/a" and held.leased_to_other("host/2/b")
    assert jobs.take_lease(job.id, "host/1/a", 30).lease_owner == "host/1/a"  # renewed
    jobs.release_lease(job.id, "host/2/b")  # not b's lease: nothing happens
    assert jobs.get(job.id).lease_owner == "host/1/a"  # type: ignore[union-attr]
    jobs.release_lease(job.id, "host/1/a")
    assert jobs.get(job.id).lease_owner is None  # type: ignore[union-attr]
    assert jobs.take_lease(job.id, "host/2/b", 30).lease_owner == "host/2/b"


def test_a_lease_that_ran_out_or_whose_holder_died_is_taken_over(any_store: Store) -> None:
    jobs, job = any_store.media_jobs, _job(any_store)
    jobs.take_lease(job.id, "host/1/a", 0)  # runs out at once
    assert jobs.take_lease(job.id, "host/2/b", 30).lease_owner == "host/2/b"
    assert jobs.take_lease(job.id, "host/3/c", 30).lease_owner == "host/2/b"
    taken = jobs.take_lease(job.id, "host/3/c", 30, steal_from="host/2/b")
    assert taken.lease_owner == "host/3/c"


@pytest.mark.slow
def test_two_stores_racing_for_each_job_leave_exactly_one_holder(db_url: str) -> None:
    with Store(db_url) as first, Store(db_url) as second:
        ids = [_job(first).id for _ in range(15)]
        winners: dict[str, list[str]] = {job_id: [] for job_id in ids}
        start = threading.Barrier(2)

        def race(store: Store, holder: str) -> None:
            start.wait()
            for job_id in ids:
                if store.media_jobs.take_lease(job_id, holder, 30).lease_owner == holder:
                    winners[job_id].append(holder)

        threads = [
            threading.Thread(target=race, args=(first, "host/1/a")),
            threading.Thread(target=race, args=(second, "host/2/b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert all(len(holders) == 1 for holders in winners.values()), winners


def test_discard_forgets_only_a_job_that_was_never_sent(store: Store) -> None:
    from alltoken_agent.store.media import SUBMIT_SENT

    jobs = store.media_jobs
    unsent = _job(store)
    sent = _job(store)
    jobs.update(sent.id, result={SUBMIT_SENT: "2026-01-01T00:00:00+00:00"})
    pending = _job(store)
    jobs.update(pending.id, status="pending", task_id="igen_1")
    busy = _job(store)
    jobs.take_lease(busy.id, "host/1/a", 30)
    assert unsent.never_sent and jobs.get(busy.id).never_sent  # type: ignore[union-attr]
    assert not jobs.get(sent.id).never_sent  # type: ignore[union-attr]
    assert jobs.discard_unsent(unsent.id) is True and jobs.get(unsent.id) is None
    for kept in (sent, pending, busy):
        assert jobs.discard_unsent(kept.id) is False and jobs.get(kept.id) is not None

"""`jobs` on a job a server queued for workers (`[server] media_jobs = "workers"`).

The job is journaled the way such a server journals it (created, then handed to the
queue) in the store `jobs` reads, this test's own. `jobs cancel` takes it off the queue
with the queue's own conditional UPDATE, sends nothing (the simulator's log stays
empty) and says nothing was paid; a job a worker took first is not cancelled behind its
back. `jobs list` and `jobs show` say the job waits for a worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import UserError
from alltoken_agent.cli.jobs import _take_off_the_queue
from alltoken_agent.cli.output import EventWriter
from alltoken_agent.store import Store
from alltoken_agent.store.media_queue import MediaJobQueue
from tests.cli.helpers import ndjson, run_cli


def _queued(folder: Path, kind: str = "video") -> str:
    """A job journaled and queued as a workers-mode server does; its id."""
    with Store() as store:  # the journal `jobs` reads, in this test's ALLTOKEN_AGENT_HOME
        record = store.media_jobs.create(
            kind=kind,  # type: ignore[arg-type]
            provider="alltoken",
            dialect="alltoken",
            model="a-model",
            params={"prompt": "a paper boat"},
            output_path=str(folder / "boat.*"),
            idempotency_key="idem-1",
        )
        MediaJobQueue.of(store).enqueue(record.id)
    return record.id


def _job(job_id: str) -> Any:
    with Store() as store:
        return store.media_jobs.get(job_id)


def test_cancelling_a_queued_job_takes_it_off_the_queue_and_sends_nothing(
    tmp_path: Path, sim: Any
) -> None:
    job_id = _queued(tmp_path)
    result = run_cli("jobs", "cancel", job_id, "--base-url", sim.base_url)
    assert result.exit_code == 0, result.stderr
    assert "waiting for a worker and is cancelled" in result.stderr
    assert "never sent, so nothing was paid" in result.stderr
    job = _job(job_id)
    assert (job.status, job.error_code, job.task_id) == ("cancelled", "cancelled", None)
    assert sim.state.requests == []  # no gateway call (the simulator saw nothing)
    again = run_cli("jobs", "cancel", job_id, "--base-url", sim.base_url)
    assert again.exit_code == 2 and "already ended" in again.stderr


def test_cancelling_a_queued_image_job_reports_json(tmp_path: Path) -> None:
    job_id = _queued(tmp_path, kind="image")  # images cannot be cancelled once sent
    result = run_cli("jobs", "cancel", job_id, "--json")
    assert result.exit_code == 0, result.stderr
    assert ndjson(result.stdout) == [
        {
            "event": "job:cancelled",
            "job_id": job_id,
            "task_id": None,
            "status": "cancelled",
            "never_sent": True,
        }
    ]
    assert _job(job_id).status == "cancelled"


def test_a_job_a_worker_took_first_is_not_cancelled(tmp_path: Path, sim: Any) -> None:
    job_id = _queued(tmp_path)
    with Store() as store:
        seen = store.media_jobs.get(job_id)  # `jobs cancel` read it while it was queued,
        assert seen is not None and seen.status == "queued"
        taken = MediaJobQueue.of(store).claim("host/1", 60, folder=str(tmp_path), grace=0)
        assert taken is not None and taken.id == job_id  # then a worker's claim won
        with pytest.raises(UserError, match="taken by a worker just now and is being sent"):
            _take_off_the_queue(store, seen, EventWriter(enabled=False))
    result = run_cli("jobs", "cancel", job_id, "--base-url", sim.base_url)
    assert result.exit_code == 2 and "no task id yet" in result.stderr
    job = _job(job_id)  # the worker's job goes on: nothing changed behind its back
    assert (job.status, job.lease_owner, job.error_code) == ("submitting", "host/1", None)
    assert sim.state.requests == []


def test_list_and_show_say_a_queued_job_waits_for_a_worker(tmp_path: Path) -> None:
    job_id = _queued(tmp_path)
    listed = run_cli("jobs", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "queued (waiting for a worker)" in listed.stdout
    assert "never sent" not in listed.stdout
    shown = run_cli("jobs", "show", job_id)
    assert shown.exit_code == 0, shown.stderr
    assert "status:" in shown.stdout and "queued (waiting for a worker)" in shown.stdout
    assert f"`alltoken-agent jobs cancel {job_id}` takes it off the queue" in shown.stderr
    assert "resume" not in shown.stderr

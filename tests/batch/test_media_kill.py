"""A media batch killed with SIGKILL mid-run resumes without submitting any job twice.

The batch runs as a child process against the simulator served in this test process,
and is killed while its jobs are pending on the gateway, so no cleanup code of ours
runs. The re-run (in-process) must finish those jobs by polling them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.store import Store
from alltoken_agent.store.batches import BatchRepository
from tests.batch.test_media_lines import KEY_ENV, PROMPTS, image_submits, outputs, write_lines
from tests.cli.helpers import run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _until_pending_and_polled(sim: Any, child: subprocess.Popen[bytes], count: int) -> None:
    """Wait until ``count`` tasks exist and each was polled: no submit is in flight."""
    deadline = time.monotonic() + 120
    while True:
        assert child.poll() is None, "the batch ended before it was killed"
        assert time.monotonic() < deadline, "the batch never had its jobs pending"
        tasks = list(sim.state.media.tasks)
        if len(tasks) == count and all(sim.state.media.polls.get(t) for t in tasks):
            return
        time.sleep(0.02)


@pytest.mark.slow
def test_a_killed_media_batch_resumes_by_polling_and_submits_each_job_once(
    sim: Any, tmp_path: Path, store_url: str | None
) -> None:
    sim.state.media.image_seconds = 30  # the first jobs stay pending until the clock moves
    source = write_lines(tmp_path / "in.jsonl", [{"prompt": p, "size": "64x64"} for p in PROMPTS])
    out = tmp_path / "out.jsonl"
    args = [str(source), "-o", str(out), "--kind", "image", "--base-url", sim.base_url]
    args += [] if store_url is None else ["--store", store_url]
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "batch", *args, "--concurrency", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **KEY_ENV},
    )
    try:
        _until_pending_and_polled(sim, child, 2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    with Store(store_url) as store:  # the child's journal (by default in ALLTOKEN_AGENT_HOME)
        repo = BatchRepository.of(store)
        [run] = {item.run_id for item in _all_items(store)}
        running = [item for item in repo.items(run) if item.status == "running"]
        jobs = [store.media_jobs.get((item.request or {})["job_id"]) for item in running]
    assert len(running) == 2
    assert all(job is not None and job.status == "pending" and job.task_id for job in jobs)
    assert not any(Path(tmp_path).glob("*.png"))

    sim.state.media.advance(30)  # the pending jobs finish while nobody watches
    sim.state.media.image_seconds = 0.05
    result = run_cli("batch", *args, env=KEY_ENV)

    assert result.exit_code == 0, result.stderr
    lines = outputs(out)
    assert [o["line"] for o in lines] == [1, 2, 3, 4, 5]
    assert all(o["error"] is None and len(o["files"]) == 1 for o in lines)
    assert all(Path(o["files"][0]).is_file() for o in lines)
    resumed = {o["job_id"] for o in lines} & {job.id for job in jobs if job is not None}
    assert len(resumed) == 2  # the killed run's jobs, finished, not made again
    assert sim.state.media.submits == {"image": 5}
    assert len(image_submits(sim)) == 5  # not even a deduped repeat went out
    assert sorted(r.json["prompt"] for r in image_submits(sim)) == sorted(PROMPTS)


def _all_items(store: Store) -> list[Any]:
    import sqlalchemy as sa

    from alltoken_agent.store.schema import batch_items

    with store._db.read() as conn:
        return list(conn.execute(sa.select(batch_items.c.run_id)))

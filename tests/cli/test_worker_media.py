"""`image`/`video --batch --queue` journal media jobs; `worker`s make each of them once.

On SQLite (one machine) in-process; on PostgreSQL two worker processes share the queue,
each in a database of this test's own (the cluster is shared by the whole session).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from alltoken_agent.server import owner_id
from alltoken_agent.store import Store, schema
from alltoken_agent.store.usage import UsageQuery, UsageRepository
from tests.batch.conftest import own_database, postgres
from tests.batch.test_media_lines import image_submits
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY
from tests.server.conftest import GATEWAY_KEY
from tests.server.test_media import submit
from tests.server.test_replica_failover import job_once, wait_until
from tests.server.test_replicas import Replica

KEY_ENV = {"ALLTOKEN_API_KEY": TEST_KEY}
__all__ = ["own_database", "postgres"]  # fixtures, used by name

PROMPTS = ["a red fox", "# a comment line", "", "an owl at night", "a kite", "two crows"]
"""A batch file: the comment and the blank line are skipped, numbers follow the file."""
NAMES = ["001-a-red-fox.png", "004-an-owl-at-night.png", "005-a-kite.png", "006-two-crows.png"]


@pytest.fixture(autouse=True)
def quick_jobs(sim: Any) -> None:
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n", encoding="utf-8")
    return path


def queue_images(prompts: Path, out: Path, *common: str) -> Any:
    """``image --batch PROMPTS --queue -o OUT --size 64x64`` with ``common`` flags."""
    queued = run_cli(
        "image", "--batch", str(prompts), "--queue", "-o", str(out), "--size", "64x64", *common,
        env=KEY_ENV,
    )  # fmt: skip
    assert queued.exit_code == 0, queued.stderr
    return queued


@pytest.mark.slow
def test_image_batch_queue_sends_nothing_and_a_worker_makes_each_job(
    sim: Any, tmp_path: Path, prompts: Path
) -> None:
    out = tmp_path / "out"
    common = ["--base-url", sim.base_url]

    queued = queue_images(prompts, out, *common)

    assert "4 image jobs queued as batch bat_" in queued.stderr
    assert "alltoken-agent worker" in queued.stderr
    assert sim.state.media.submits == {} and not out.exists()

    again = queue_images(prompts, out, *common)
    assert "were queued already" in again.stderr

    worked = run_cli("worker", *common, env=KEY_ENV)

    assert worked.exit_code == 0, worked.stderr
    assert "worker ran 4 lines: 4 ok" in worked.stderr
    assert sorted(p.name for p in out.iterdir()) == NAMES
    with Image.open(out / NAMES[0]) as image:
        assert image.size == (64, 64)
    assert sim.state.media.submits == {"image": 4}
    assert sorted(r.json["prompt"] for r in image_submits(sim)) == sorted(
        p for p in PROMPTS if p and not p.startswith("#")
    )
    with Store() as store:
        jobs = store.media_jobs.list_jobs()
    assert len(jobs) == 4 and {job.status for job in jobs} == {"completed"}

    idle = run_cli("worker", *common, env=KEY_ENV)
    assert idle.exit_code == 0 and "worker ran 0 lines" in idle.stderr
    assert sim.state.media.submits == {"image": 4}


@pytest.mark.slow
def test_video_batch_queue_is_made_by_a_worker(sim: Any, tmp_path: Path) -> None:
    scenes = tmp_path / "scenes.txt"
    scenes.write_text("a fox runs\nrain on a roof\n", encoding="utf-8")
    out = tmp_path / "clips"
    common = ["--base-url", sim.base_url]

    queued = run_cli(
        "video", "--batch", str(scenes), "--queue", "-o", str(out), "--duration", "5",
        "--no-audio", *common, env=KEY_ENV,
    )  # fmt: skip
    assert queued.exit_code == 0, queued.stderr
    assert sim.state.media.submits == {}

    worked = run_cli("worker", *common, env=KEY_ENV)

    assert worked.exit_code == 0, worked.stderr
    assert sorted(p.name for p in out.iterdir()) == ["001-a-fox-runs.mp4", "002-rain-on-a-roof.mp4"]
    assert sim.state.media.submits == {"video": 2}
    creates = [r for r in sim.state.requests if r.method == "POST" and "video" in r.path]
    assert all(r.json["duration"] == 5 and r.json["generate_audio"] is False for r in creates)


def test_queue_without_a_batch_file_is_exit_2(sim: Any) -> None:
    result = run_cli("image", "a fox", "--queue", "--base-url", sim.base_url, env=KEY_ENV)

    assert result.exit_code == 2
    assert "--queue needs --batch" in result.stderr and "Traceback" not in result.stderr
    assert sim.state.media.submits == {}


@pytest.mark.slow
def test_two_workers_drain_a_media_queue_on_postgresql_submitting_each_job_once(
    own_database: str, sim: Any, tmp_path: Path, prompts: Path
) -> None:
    out = tmp_path / "out"
    common = ["--store", own_database, "--base-url", sim.base_url]
    queue_images(prompts, out, *common)
    assert sim.state.media.submits == {}

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "alltoken_agent", "worker", *common, "--concurrency", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **KEY_ENV},
        )
        for _ in range(2)
    ]
    reports = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr
        reports.append(stderr)

    ran = [int(r.split("worker ran ")[1].split(" ")[0]) for r in reports]
    assert sum(ran) == 4
    assert sim.state.media.submits == {"image": 4}  # each job made once, by one worker
    assert len(image_submits(sim)) == 4
    assert sorted(p.name for p in out.iterdir()) == NAMES
    with Store(own_database) as store:
        jobs = store.media_jobs.list_jobs()
    assert len(jobs) == 4 and {job.status for job in jobs} == {"completed"}


@pytest.mark.slow
def test_a_worker_under_a_budget_stops_making_jobs_before_it_is_crossed(
    sim: Any, tmp_path: Path, prompts: Path
) -> None:
    out = tmp_path / "out"
    common = ["--base-url", sim.base_url]
    queue_images(prompts, out, *common)

    # gpt-image-2 is $0.04 an image in the catalog: room for two, not three.
    stopped = run_cli("worker", "--budget", "0.10", *common, env=KEY_ENV)

    assert stopped.exit_code == 7, stopped.stderr
    assert "worker ran 2 lines: 2 ok" in stopped.stderr
    assert sim.state.media.submits == {"image": 2}
    assert sorted(p.name for p in out.iterdir()) == NAMES[:2]

    rest = run_cli("worker", "--budget", "1", *common, env=KEY_ENV)
    assert rest.exit_code == 0, rest.stderr
    assert sim.state.media.submits == {"image": 4}  # the first two were not made again
    assert sorted(p.name for p in out.iterdir()) == NAMES


@pytest.mark.slow
def test_a_worker_finishes_the_job_a_killed_server_left_by_polling_it(
    own_database: str, sim: Any, tmp_path: Path
) -> None:
    key = secrets.token_urlsafe(24)
    media = tmp_path / "media"
    gateway = {"ALLTOKEN_API_KEY": GATEWAY_KEY}  # the simulator keeps tasks per key
    server = Replica(
        "srv", own_database, tmp_path, key,
        args=["--base-url", sim.base_url, "--media-dir", str(media)], env=gateway,
    )  # fmt: skip
    try:
        server.wait_ready()
        sim.state.media.enqueue_job_faults(["slow:600"])
        with server.client(key) as client:
            job = submit(client, "images", prompt="a fox", size="1024x1024", quality="low")
            job_once(client, job["id"], "pending", 60)  # submitted: the server polls it
        server.kill()  # SIGKILL: its lease stays, held by a process that is gone
    finally:
        server.stop()
    assert sim.state.media.submits == {"image": 1}
    sim.state.media.advance(600)  # the job ends on the gateway while nobody watches
    common = ["--store", own_database, "--media-dir", str(media), "--base-url", sim.base_url]

    worked = run_cli("worker", *common, env=gateway)

    assert worked.exit_code == 0, worked.stderr
    assert "worker finished 1 media job servers accepted: 1 ok" in worked.stderr
    assert sim.state.media.submits == {"image": 1}  # polled, never submitted again
    (saved,) = (media / owner_id(key)).iterdir()
    with Image.open(saved) as image:
        assert image.size == (1024, 1024)
    with Store(own_database) as store:
        record = store.media_jobs.get(job["id"], owner=owner_id(key))
        ledger = UsageRepository.of(store)
        rows = [
            row
            for book in (False, True)
            for row in ledger.rows(UsageQuery(owner=owner_id(key), simulated=book))
        ]
    assert record is not None and record.status == "completed"
    assert [row.kind for row in rows] == ["image"]  # one ledger row, under the key's owner

    again = run_cli("worker", *common, env=gateway)
    assert again.exit_code == 0 and "media jobs" not in again.stderr
    assert sim.state.media.submits == {"image": 1}


def _journal_unsent(sim: Any, media: Path, *, age: float) -> str:
    """Journal an image job as a server's POST does (not sent), ``age`` seconds ago."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from alltoken_agent.media import Media
    from alltoken_agent.store.schema import media_jobs
    from tests.media.conftest import media_gateway

    async def make() -> str:
        with Store() as store:
            async with media_gateway(sim) as gateway:
                job = await Media(gateway, store).images.create_job(
                    "a fox", size="64x64", save_to=f"{media / 'local'}{os.sep}"
                )
            then = datetime.now(timezone.utc) - timedelta(seconds=age)
            with store._db.write() as conn:
                conn.execute(
                    sa.update(media_jobs).where(media_jobs.c.id == job.id).values(updated_at=then)
                )
        return job.id

    return asyncio.run(make())


@pytest.mark.slow
def test_a_job_a_server_journaled_but_never_sent_is_sent_once_within_the_budget(
    sim: Any, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    job_id = _journal_unsent(sim, media, age=60)
    common = ["--media-dir", str(media), "--base-url", sim.base_url]

    # gpt-image-2 is $0.04 an image: a budget below it sends nothing.
    stopped = run_cli("worker", "--budget", "0.01", *common, env=KEY_ENV)

    assert stopped.exit_code == 7, stopped.stderr
    assert sim.state.media.submits == {}
    with Store() as store:
        assert store.media_jobs.get(job_id).never_sent  # type: ignore[union-attr]

    worked = run_cli("worker", *common, env=KEY_ENV)

    assert worked.exit_code == 0, worked.stderr
    assert "worker finished 1 media job servers accepted: 1 ok" in worked.stderr
    assert sim.state.media.submits == {"image": 1}
    assert [p.name for p in (media / "local").iterdir()] == [f"{job_id}.png"]


@pytest.mark.slow
def test_a_job_just_journaled_is_left_to_the_server_that_made_it(sim: Any, tmp_path: Path) -> None:
    media = tmp_path / "media"
    job_id = _journal_unsent(sim, media, age=0)

    worked = run_cli("worker", "--media-dir", str(media), "--base-url", sim.base_url, env=KEY_ENV)

    assert worked.exit_code == 0, worked.stderr
    assert sim.state.media.submits == {}
    with Store() as store:
        assert store.media_jobs.get(job_id).never_sent  # type: ignore[union-attr]


def _lines_done() -> int:
    """Batch lines the local store holds as done."""
    with Store() as store, store._db.read() as conn:
        lines = schema.batch_items.c
        return int(conn.scalar(sa.select(sa.func.count()).where(lines.status == "done")) or 0)


@pytest.mark.slow
def test_a_watching_worker_takes_lines_queued_after_it_started_until_sigterm(
    sim: Any, tmp_path: Path, prompts: Path
) -> None:
    out = tmp_path / "out"
    common = ["--base-url", sim.base_url]
    log = tmp_path / "worker.err"
    with log.open("w") as err:
        worker = subprocess.Popen(
            [sys.executable, "-m", "alltoken_agent", "worker", "--watch", *common],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **KEY_ENV},
        )
    try:
        # Its first words (the media folder is missing here): it is watching by now.
        wait_until(lambda: "does not exist here" in log.read_text(), "the worker started")
        queue_images(prompts, out, *common)
        wait_until(
            lambda: out.is_dir() and sorted(p.name for p in out.iterdir()) == NAMES,
            "the queued lines made",
            timeout=120,
        )
        # A file is saved before its line is marked done: stopping the worker in between
        # would rightly leave the line to run (by polling) again, and count it as not run.
        wait_until(lambda: _lines_done() == len(NAMES), "the lines marked done", timeout=120)
        assert worker.poll() is None  # still watching with nothing left
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    assert worker.returncode == 143
    report = log.read_text()
    assert "worker ran 4 lines: 4 ok" in report and "Traceback" not in report
    assert sim.state.media.submits == {"image": 4}

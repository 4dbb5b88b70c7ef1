"""A server with ``media_jobs = "workers"`` queues its media jobs; ``worker --watch`` runs them.

The first tests run the server in-process and no worker: a job stays ``queued`` (never
sent, never shown as running), and a cancel takes it off the queue with nothing paid.
The others run real processes: ``serve --media-jobs workers`` and ``worker --watch``
processes on one SQLite file (one machine) or one PostgreSQL database, against the
simulator, which logs every submit.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from alltoken_agent import ConfigError, load_config
from alltoken_agent.server import ServerOptions, owner_id
from alltoken_agent.server.media import MediaJobs
from alltoken_agent.store import Store
from alltoken_agent.store.schema import media_jobs
from alltoken_agent.store.usage import UsageQuery, UsageRepository
from tests.batch.conftest import own_database, postgres
from tests.batch.test_media_lines import image_submits
from tests.cli.helpers import run_cli
from tests.media.conftest import media_gateway
from tests.server.conftest import GATEWAY_KEY, KEY_A, MakeServer
from tests.server.test_media import submit
from tests.server.test_replicas import Replica

pytestmark = pytest.mark.slow  # many servers or processes: the full suite (CI) runs it

ROOMY = {"rate_limit_per_minute": 6000, "rate_limit_burst": 1000}
IMAGE = {"size": "1024x1024", "quality": "low"}
__all__ = ["own_database", "postgres"]  # fixtures, used by name


@pytest.fixture(autouse=True)
def quick_jobs(sim: Any) -> None:
    sim.state.media.image_seconds = 0.05


def test_a_workers_server_queues_a_job_and_runs_none_of_it(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    server = make_server(media_jobs="workers", media_dir=tmp_path / "media", **ROOMY)
    with server.client() as client:
        job = submit(client, "images", prompt="a fox", **IMAGE)
        assert job["status"] == "queued" and job["task_id"] is None
        for _ in range(3):  # nobody takes it: it stays queued, never "running"
            assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"
        listed = client.get("/v1/jobs", params={"status": "queued"}).json()["jobs"]
        resumed = client.post(f"/v1/jobs/{job['id']}/resume")
    assert [j["id"] for j in listed] == [job["id"]]
    assert resumed.status_code == 202 and resumed.json()["status"] == "queued"
    assert len(server.context.media) == 0  # the server drives nothing
    assert sim.state.media.submits == {}
    record = server.store.media_jobs.get(job["id"], owner=owner_id(KEY_A))
    assert record is not None and record.lease_owner is None  # no lease taken
    assert record.output_path == f"{tmp_path / 'media' / owner_id(KEY_A)}{os.sep}"


def test_a_job_cancelled_while_queued_is_never_sent_nor_paid(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    server = make_server(media_jobs="workers", media_dir=tmp_path / "media", **ROOMY)
    with server.client() as client:
        image = submit(client, "images", prompt="a fox", **IMAGE)
        video = submit(client, "videos", prompt="a fox runs", duration=5)
        cancelled = [client.post(f"/v1/jobs/{job['id']}/cancel") for job in (image, video)]
        again = client.post(f"/v1/jobs/{image['id']}/cancel")
        usage = client.get("/v1/usage").json()
    for response in cancelled:
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["status"] == "cancelled" and job["files"] == []
        assert job["error"]["code"] == "cancelled"
        assert "nothing was sent" in job["error"]["message"]
    assert again.status_code == 409  # it ended
    assert sim.state.media.submits == {}
    assert [r for r in sim.state.requests if "/cancel" in r.path] == []  # nothing to ask
    assert usage["totals"]["requests"] == 0


def test_a_key_may_keep_only_so_many_jobs_waiting_for_a_worker(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    server = make_server(
        media_jobs="workers", media_dir=tmp_path / "media", max_concurrent_jobs=2, **ROOMY
    )
    with server.client() as client:
        first = submit(client, "images", prompt="one", **IMAGE)
        submit(client, "images", prompt="two", **IMAGE)
        third = client.post("/v1/images", json={"prompt": "three", **IMAGE})
        assert third.status_code == 429
        assert third.json()["error"]["code"] == "too_many_jobs"
        assert "waiting for a worker" in third.json()["error"]["message"]
        client.post(f"/v1/jobs/{first['id']}/cancel")
        submit(client, "images", prompt="three", **IMAGE)  # room again
    assert sim.state.media.submits == {}


def test_a_server_that_runs_its_own_jobs_leaves_queued_ones_to_the_workers(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    media = tmp_path / "media"
    queuing = make_server(store_url=url, media_jobs="workers", media_dir=media, **ROOMY)
    with queuing.client() as client:
        job = submit(client, "images", prompt="a fox", **IMAGE)
    then = datetime.now(timezone.utc) - timedelta(seconds=600)  # long unleased: an orphan
    with queuing.store._db.write() as conn:
        conn.execute(
            sa.update(media_jobs).where(media_jobs.c.id == job["id"]).values(updated_at=then)
        )

    async def look() -> int:
        """What a replica that runs its own jobs starts at startup and in a sweep."""
        with Store(url) as store:
            async with media_gateway(sim) as gateway:
                replica = MediaJobs(
                    gateway, store, media, owners=[owner_id(KEY_A)], max_per_owner=4
                )
                await replica._resume_unfinished()
                await replica._resume_unfinished(sweep=True)
                return len(replica)

    assert asyncio.run(look()) == 0
    assert sim.state.media.submits == {}
    with queuing.client() as client:
        assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"


def test_media_jobs_comes_from_the_config_file_and_the_flag_wins(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[server]\nmedia_jobs = "workers"\n', encoding="utf-8")
    config = load_config(path)

    assert ServerOptions().media_jobs == "server"  # the default: the server runs its jobs
    assert ServerOptions.from_config(config, {}).media_jobs == "workers"
    assert ServerOptions.from_config(config, {}, media_jobs="server").media_jobs == "server"
    path.write_text('[server]\nmedia_jobs = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="media_jobs"):
        load_config(path)
    with pytest.raises(ConfigError, match="server or workers"):
        ServerOptions(media_jobs="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--media-jobs", "sometimes"), "Invalid value for '--media-jobs'"),
        (("--offline", "--media-jobs", "workers"), "where no worker can reach its jobs"),
    ],
)
def test_serve_refuses_media_jobs_it_cannot_hand_out(
    args: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_KEYS", raising=False)
    result = run_cli("serve", "--offline", "--port", "0", *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "server on" not in result.stdout


# -- real processes: serve --media-jobs workers, worker --watch ---------------------------


class Worker:
    """One ``alltoken-agent worker --watch`` process."""

    def __init__(self, name: str, store: str, media: Path, sim: Any, folder: Path) -> None:
        self.err = folder / f"{name}.err"
        command = [
            sys.executable, "-m", "alltoken_agent", "worker", "--watch", "--store", store,
            "--media-dir", str(media), "--base-url", sim.base_url, "--concurrency", "2",
        ]  # fmt: skip
        env = {**os.environ, "ALLTOKEN_API_KEY": GATEWAY_KEY}  # the simulator's tasks are per key
        with self.err.open("w") as err:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)

    def kill(self) -> None:
        """SIGKILL: its lease stays, held by a process that is gone (and reaped)."""
        self.process.kill()
        self.process.wait(15)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


class Pool:
    """A queuing server and its workers on one store, with one fresh server key."""

    def __init__(self, store: str, sim: Any, folder: Path, workers: int) -> None:
        self.store = store
        self.key = secrets.token_urlsafe(24)
        self.media = folder / "media"
        args = ["--base-url", sim.base_url, "--media-dir", str(self.media)]
        args += ["--media-jobs", "workers"]
        self.server = Replica(
            "srv", store, folder, self.key, args=args, env={"ALLTOKEN_API_KEY": GATEWAY_KEY}
        )
        self.workers = [Worker(f"w{n}", store, self.media, sim, folder) for n in range(workers)]
        self.server.wait_ready()

    def client(self) -> httpx.Client:
        return self.server.client(self.key)

    def jobs(self, client: httpx.Client, status: str, count: int, timeout: float = 120) -> Any:
        """All the key's jobs once ``count`` of them have ``status`` (one list call a poll)."""
        deadline = time.monotonic() + timeout
        while True:
            response = client.get("/v1/jobs", params={"limit": 100})
            assert response.status_code == 200, response.text
            jobs = response.json()["jobs"]
            if sum(job["status"] == status for job in jobs) >= count:
                return jobs
            assert time.monotonic() < deadline, f"never {count} {status}: {jobs}"
            time.sleep(0.6)  # within the server's default rate limit

    def ledger_kinds(self) -> list[str]:
        with Store(self.store) as store:
            ledger = UsageRepository.of(store)
            return [
                row.kind
                for book in (False, True)
                for row in ledger.rows(UsageQuery(owner=owner_id(self.key), simulated=book))
            ]

    def logs(self) -> str:
        return "".join(w.err.read_text() for w in self.workers) + self.server.err.read_text()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.server.stop()


@pytest.fixture
def pg_pool(own_database: str, sim: Any, tmp_path: Path) -> Iterator[Pool]:
    pool = Pool(own_database, sim, tmp_path, workers=2)
    try:
        yield pool
    finally:
        pool.stop()


def assert_saved_once(pool: Pool, jobs: list[dict[str, Any]]) -> None:
    """One file per job in the key's folder, each the size the job lists."""
    folder = pool.media / owner_id(pool.key)
    saved = sorted(folder.iterdir())
    assert len(saved) == len(jobs)
    sizes = {path.name: path.stat().st_size for path in saved}
    for job in jobs:
        (entry,) = job["files"]
        assert sizes[f"{job['id']}.png"] == entry["size"]
    with Image.open(saved[0]) as image:
        assert image.size == (1024, 1024)


@pytest.mark.slow
def test_two_workers_on_postgresql_run_each_job_a_server_queued_once(
    pg_pool: Pool, sim: Any
) -> None:
    prompts = [f"a fox, take {n}" for n in range(6)]
    with pg_pool.client() as client:
        posted = [submit(client, "images", prompt=prompt, **IMAGE) for prompt in prompts]
        assert {job["status"] for job in posted} == {"queued"}
        jobs = pg_pool.jobs(client, "completed", len(prompts))
        file = client.get(f"/v1/jobs/{posted[0]['id']}/files/0")
    assert file.status_code == 200 and file.headers["content-type"] == "image/png"
    assert sim.state.media.submits == {"image": len(prompts)}  # each submitted once
    assert sorted(r.json["prompt"] for r in image_submits(sim)) == sorted(prompts)
    assert_saved_once(pg_pool, jobs)
    assert pg_pool.ledger_kinds() == ["image"] * len(prompts)  # one ledger row each
    assert "Traceback" not in pg_pool.logs()
    codes = [worker.stop() for worker in pg_pool.workers]
    assert codes == [143, 143]  # SIGTERM: stopped as asked
    reports = [w.err.read_text() for w in pg_pool.workers]
    finished = [
        int(r.split("worker finished ")[1].split(" ")[0]) for r in reports if "finished" in r
    ]
    assert sum(finished) == len(prompts)


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_it_to_the_other_which_polls_it(
    pg_pool: Pool, sim: Any
) -> None:
    sim.state.media.enqueue_job_faults(["slow:600"])  # the job runs until the clock moves
    with pg_pool.client() as client:
        job = submit(client, "images", prompt="a slow fox", **IMAGE)
        pg_pool.jobs(client, "pending", 1)  # a worker submitted it and polls it
        with Store(pg_pool.store) as store:
            record = store.media_jobs.get(job["id"], owner=owner_id(pg_pool.key))
        assert record is not None and record.lease_owner is not None
        pid = int(record.lease_owner.split("/")[1])
        (holder,) = [w for w in pg_pool.workers if w.process.pid == pid]
        holder.kill()
        sim.state.media.advance(600)  # the job ends on the gateway
        (done,) = pg_pool.jobs(client, "completed", 1)
    assert sim.state.media.submits == {"image": 1}  # polled by the other, never resubmitted
    assert len(image_submits(sim)) == 1
    assert_saved_once(pg_pool, [done])
    assert pg_pool.ledger_kinds() == ["image"]  # the job's one ledger row
    (other,) = [w for w in pg_pool.workers if w is not holder]
    assert other.stop() == 143
    assert "worker finished 1 media job" in other.err.read_text()


@pytest.mark.slow
def test_on_one_machine_a_sqlite_store_queues_jobs_until_a_worker_runs_them(
    sim: Any, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'one.db'}"
    pool = Pool(store, sim, tmp_path, workers=0)
    try:
        with pool.client() as client:
            kept = submit(client, "images", prompt="a fox", **IMAGE)
            dropped = submit(client, "images", prompt="an owl", **IMAGE)
            cancelled = client.post(f"/v1/jobs/{dropped['id']}/cancel")
            assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
            assert client.get(f"/v1/jobs/{kept['id']}").json()["status"] == "queued"
            assert sim.state.media.submits == {}  # no worker yet: nothing sent

            pool.workers.append(Worker("w0", store, pool.media, sim, tmp_path))
            jobs = pool.jobs(client, "completed", 1)
            (done,) = [job for job in jobs if job["status"] == "completed"]
            gone = client.get(f"/v1/jobs/{dropped['id']}").json()
    finally:
        pool.stop()
    assert done["id"] == kept["id"]
    assert gone["status"] == "cancelled" and gone["files"] == []
    assert sim.state.media.submits == {"image": 1}
    assert [r.json["prompt"] for r in image_submits(sim)] == ["a fox"]
    assert_saved_once(pool, [done])
    assert pool.ledger_kinds() == ["image"]
    assert "media jobs are queued for workers" in pool.server.err.read_text()
    assert "Traceback" not in pool.logs()


@pytest.mark.slow
def test_a_worker_stopped_by_a_signal_says_its_spend_on_a_local_simulator_was_simulated(
    tmp_path: Path,
) -> None:
    from alltoken_agent.simulator import SimulatorServer

    # A simulator that labels its replies, as `alltoken-agent simulator` does: the worker
    # books what it spends there as simulated, and its closing summary must say so too.
    with SimulatorServer("alltoken") as labelled:
        store = f"sqlite:///{tmp_path / 'one.db'}"
        pool = Pool(store, labelled, tmp_path, workers=1)
        try:
            with pool.client() as client:
                submit(client, "images", prompt="a fox", **IMAGE)
                pool.jobs(client, "completed", 1)
        finally:
            pool.stop()
        with Store(store) as db:
            query = UsageQuery(owner=owner_id(pool.key), simulated=True)
            assert [row.kind for row in UsageRepository.of(db).rows(query)] == ["image"]
    report = pool.workers[0].err.read_text()
    assert "worker finished 1 media job servers accepted: 1 ok" in report
    assert "spent $0.04 (simulated)" in report, report

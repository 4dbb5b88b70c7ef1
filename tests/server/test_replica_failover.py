"""Replicas on one database: one turn of a session at a time, and orphaned media jobs taken over.

The first tests run two in-process servers on one SQLite file (as two processes on one
machine would share it); the last runs three real ``alltoken-agent serve`` processes on
one PostgreSQL database and one simulator, and SIGKILLs one of them mid-turn with a
media job in flight.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from alltoken_agent.media import Media
from alltoken_agent.server import owner_id
from alltoken_agent.server.media import MediaJobs
from alltoken_agent.store import Store
from tests.media.conftest import media_gateway
from tests.server.conftest import GATEWAY_KEY, KEY_A, MakeServer, ServerThread, create_session
from tests.server.test_media import fast, submit, wait_for
from tests.server.test_messages import SSE, iter_sse
from tests.server.test_replicas import Replica

pytestmark = pytest.mark.slow

CHAT = "/v1/chat/completions"
ROOMY = {"rate_limit_per_minute": 6000, "rate_limit_burst": 1000}
"""Limits the tests' polling stays within."""


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy (bounded: a failure must not hang)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def job_once(client: httpx.Client, job_id: str, status: str, timeout: float) -> Any:
    """The job once it has ``status``, asked every 0.6 s (a replica's default rate limit)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] == status:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.6)


def chat_requests(sim: Any) -> list[Any]:
    return [r for r in sim.state.requests if r.path == CHAT]


def dead_holder() -> str:
    """A lease holder naming a process of this host that has ended (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}/{child.pid}/dead"


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "session_busy"


def post(client: httpx.Client, session_id: str, content: str) -> httpx.Response:
    return client.post(f"/v1/sessions/{session_id}/messages", json={"content": content})


def until_first_delta(events: Iterator[tuple[str, dict[str, Any]]]) -> None:
    for name, _ in events:
        if name == "stream:delta":
            return
    raise AssertionError("the stream ended before its first delta")


@pytest.fixture
def two_on_one_file(make_server: MakeServer, tmp_path: Path) -> tuple[ServerThread, ServerThread]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    return make_server(store_url=url, **ROOMY), make_server(store_url=url, **ROOMY)


def test_a_session_busy_on_one_replica_is_409_with_retry_after_on_the_other(
    two_on_one_file: tuple[ServerThread, ServerThread], sim: Any
) -> None:
    one, two = two_on_one_file
    with one.client() as first, two.client() as second:
        session_id = create_session(first)
        sim.state.enqueue_faults(["stall:3:60"])  # the model stops after its third chunk
        with first.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Tell me a story."},
            headers=SSE,
        ) as running:
            assert running.status_code == 200
            events = iter_sse(running)  # kept: a dropped generator may close the stream
            until_first_delta(events)
            assert_busy(post(second, session_id, "And another?"))
            assert_busy(post(first, session_id, "And another?"))  # the same replica says so too
            assert len(chat_requests(sim)) == 1  # no second turn reached the model
        # Closing the stream cancels the turn and gives the session up: the other replica
        # runs the next one (once the cancel has gone through).
        answer = wait_until(
            lambda: (r := post(second, session_id, "Hello again.")).status_code != 409 and r,
            "the session given up",
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"]
    with one.client() as client:
        doc = client.get("/openapi.json").json()
    busy = doc["paths"]["/v1/sessions/{session_id}/messages"]["post"]["responses"]["409"]
    assert "Retry-After" in busy["headers"]  # documented
    lease = one.store.sessions.take_lease(session_id, "probe/1/x", 0)  # 0 s: free again at once
    assert lease == "probe/1/x"  # nobody held it once the turn was saved


def test_a_long_turn_renews_its_session_lease_and_stays_the_only_one(
    two_on_one_file: tuple[ServerThread, ServerThread], sim: Any, tmp_path: Path
) -> None:
    one, two = two_on_one_file
    for server in (one, two):
        assert server.context.runs.leases is not None
        server.context.runs.leases.seconds = 0.6  # renewed every 0.2 s
    database = sa.create_engine(f"sqlite:///{tmp_path / 'shared.db'}")

    def lease_until(session_id: str) -> Any:
        with database.connect() as conn:
            query = sa.text("SELECT lease_until FROM sessions WHERE id = :id")
            return conn.execute(query, {"id": session_id}).scalar()

    with one.client() as first, two.client() as second:
        session_id = create_session(first)
        sim.state.enqueue_faults(["stall:3:60"])
        with first.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Tell me a long story."},
            headers=SSE,
        ) as running:
            events = iter_sse(running)
            until_first_delta(events)
            taken = lease_until(session_id)
            assert taken is not None
            renewed = wait_until(
                lambda: (until := lease_until(session_id)) != taken and until, "the lease renewed"
            )
            wait_until(
                lambda: lease_until(session_id) not in (taken, renewed), "the lease renewed again"
            )
            assert_busy(post(second, session_id, "Are you done?"))
    database.dispose()


def test_a_session_leased_by_a_live_process_elsewhere_is_busy_a_dead_ones_is_taken_over(
    two_on_one_file: tuple[ServerThread, ServerThread],
) -> None:
    one, two = two_on_one_file
    with one.client() as first, two.client() as second:
        session_id = create_session(first)
        assert one.store.sessions.take_lease(session_id, "other.example/7/abcd", 600) == (
            "other.example/7/abcd"
        )
        assert_busy(post(second, session_id, "Hello?"))
        one.store.sessions.release_lease(session_id, "other.example/7/abcd")
        dead = dead_holder()
        assert one.store.sessions.take_lease(session_id, dead, 600) == dead  # then SIGKILLed
        answer = post(second, session_id, "Hello?")
        assert answer.status_code == 200, answer.text
        history = first.get(f"/v1/sessions/{session_id}").json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]


@pytest.mark.parametrize("left_by", ["dead", "expired"])
def test_a_media_job_left_by_another_replica_is_taken_over_by_polling(
    make_server: MakeServer, sim: Any, tmp_path: Path, left_by: str
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    media = tmp_path / "media"
    # The replica that takes over runs first: its startup finds nothing, its sweep does.
    two = fast(make_server(store_url=url, media_dir=media, media_sweep_interval=0.05, **ROOMY))
    one = fast(make_server(store_url=url, media_dir=media, **ROOMY))
    sim.state.media.enqueue_job_faults(["slow:600"])
    with one.client() as client:
        job = submit(client, "images", prompt="a fox", size="1024x1024", quality="low")
        wait_for(client, job["id"], "pending")
    one.stop()  # it stops polling; the job stays pending in the journal
    holder = dead_holder() if left_by == "dead" else "other.example/7/abcd"
    # A replica killed on this host, or one elsewhere whose lease ran out.
    two.store.media_jobs.take_lease(job["id"], holder, 600 if left_by == "dead" else -1)
    owner = owner_id(KEY_A)
    wait_until(
        lambda: (r := two.store.media_jobs.get(job["id"], owner=owner)) and r.lease_owner != holder,
        "the takeover",
    )
    sim.state.media.advance(600)
    with two.client() as client:
        done = wait_for(client, job["id"], "completed", timeout=60)
        # The ledger's row is written by the store's writer thread, a moment after the
        # job's status may be read: wait for it (bounded), then check there is only one.
        usage = wait_until(
            lambda: (u := client.get("/v1/usage").json())["totals"]["requests"] and u,
            "the job's ledger row",
        )
    assert sim.state.media.submits == {"image": 1}  # polled, never submitted again
    assert len(done["files"]) == 1
    (saved,) = (media / owner).iterdir()  # one file, no leftovers of a second download
    assert saved.stat().st_size == done["files"][0]["size"]
    assert usage["totals"]["requests"] == 1  # the job's one ledger row


def test_a_late_start_up_pass_leaves_a_job_journaled_since_to_the_replica_that_made_it(
    sim: Any, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    owner = owner_id(KEY_A)
    save_to = f"{media / owner}{os.sep}"

    async def look() -> tuple[bool, bool]:
        """Whether a start-up pass that runs after both were journaled drives each one."""
        with Store(f"sqlite:///{tmp_path / 'shared.db'}") as store:
            async with media_gateway(sim) as gateway:
                jobs = Media(gateway, store).images
                left = await jobs.create_job("a fox", save_to=save_to, owner=owner)
                replica = MediaJobs(gateway, store, media, owners=[owner], max_per_owner=4)
                # Another live replica journals a job, and leases it a moment later.
                fresh = await jobs.create_job("a hen", save_to=save_to, owner=owner)
                await replica._resume_unfinished()
                driven = replica.running(left.id), replica.running(fresh.id)
                await replica.stop()
                return driven

    # The job left before this server started is its to resume; the other is not.
    assert asyncio.run(look()) == (True, False)


# -- three real replicas on PostgreSQL ----------------------------------------------------


@pytest.fixture
def three_replicas(pg_url: str, sim: Any, tmp_path: Path) -> Iterator[tuple[list[Replica], str]]:
    key = secrets.token_urlsafe(24)  # fresh: a kept database holds earlier runs' rows
    media = tmp_path / "media"
    args = ["--base-url", sim.base_url, "--media-dir", str(media)]
    env = {"ALLTOKEN_API_KEY": GATEWAY_KEY}
    replicas = [Replica(n, pg_url, tmp_path, key, args=args, env=env) for n in ("a", "b", "c")]
    try:
        for replica in replicas:
            replica.wait_ready()
        yield replicas, key
    finally:
        for replica in replicas:
            replica.stop()


def test_three_replicas_on_postgres_survive_one_killed_mid_turn_with_a_job_in_flight(
    three_replicas: tuple[list[Replica], str], sim: Any, tmp_path: Path, pg_url: str
) -> None:
    (one, two, three), key = three_replicas
    database = sa.create_engine(pg_url)
    with one.client(key) as first, two.client(key) as second, three.client(key) as third:
        session_id = create_session(first)
        sim.state.enqueue_faults(["stall:3:60"])
        with first.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Tell me a story."},
            headers=SSE,
        ) as running:
            assert running.status_code == 200
            events = iter_sse(running)  # kept: a dropped generator may close the stream
            until_first_delta(events)
            assert sim.state.pending_faults == []  # the stall went to this turn

            sim.state.media.enqueue_job_faults(["slow:600"])
            job = submit(first, "images", prompt="a fox", size="1024x1024", quality="low")
            job_once(first, job["id"], "pending", 60)  # submitted: replica one polls it
            with database.connect() as conn:
                query = sa.text("SELECT lease_owner FROM media_jobs WHERE id = :id")
                holder = conn.execute(query, {"id": job["id"]}).scalar()
            database.dispose()
            assert holder.split("/")[1] == str(one.process.pid), holder  # the premise

            for other in (second, third):
                assert_busy(post(other, session_id, "And another?"))
            assert len(chat_requests(sim)) == 1  # never a second turn at once
            one.kill()
        # The dead replica's session lease is taken over at once (its pid is gone).
        answer = post(second, session_id, "Hello again.")
        assert answer.status_code == 200, answer.text
        assert len(chat_requests(sim)) == 2
        history = third.get(f"/v1/sessions/{session_id}").json()["messages"]
        assert [m["role"] for m in history] == ["user", "assistant"]  # the killed turn: nothing

        sim.state.media.advance(600)
        done = job_once(third, job["id"], "completed", 120)
        usage = third.get("/v1/usage").json()
    assert sim.state.media.submits == {"image": 1}  # the takeover polled, never resubmitted
    (saved,) = done["files"]
    (file,) = (tmp_path / "media" / owner_id(key)).iterdir()  # one file, saved once
    assert file.stat().st_size == saved["size"]
    assert usage["totals"]["requests"] == 2  # one chat turn, one image job: each once
    logs = two.err.read_text() + three.err.read_text()
    # Who took it over says so as a warning, when its lease takes the dead one's: a
    # survivor's sweep, its start-up pass, or a task of one that had found the job before
    # the kill and waited for the lease. It was taken over by polling: one submit, one
    # file, one ledger row, checked above.
    taken = re.findall(r"taking over media job (job_\w+)", logs)
    assert taken and set(taken) == {job["id"]}, logs  # the survivors' logs, when it fails
    assert "Traceback" not in logs
    assert two.stop() == 0 and three.stop() == 0

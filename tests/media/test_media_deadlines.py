"""Media, catalog and `check` requests end at the `[timeouts]` deadlines, like chat.

A gateway that sends whitespace forever (`ping_forever`), one that trickles forever
(`trickle:S`), and one that says nothing at all for a while (`slow:S`) each end in a
timeout error (exit 6), whichever request they hit: a media submit, one poll, a model
list, check's request through the official SDK client. The CLI runs as a child process
(`python -m alltoken_agent`) so that a hang shows up as the guard's `TimeoutExpired`;
the guard is far above the deadlines and is not what the tests assert. A job whose
poll timed out stays in the journal, and `jobs resume` finishes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from alltoken_agent import GatewayTimeoutError, RetryPolicy
from alltoken_agent.config import TimeoutSettings
from alltoken_agent.media._download import download
from alltoken_agent.store import Store
from tests.cli.helpers import write_config
from tests.gateway.helpers import TEST_KEY, gateway_for

CONFIG = "[retry]\nmax_retries = 0\n[timeouts]\nidle = 0.5\ntotal = 2\n"
"""No retries, and deadlines far below the faults' `MAX_FAULT_SECONDS`."""

GUARD = 120
"""Seconds before a child is taken as hung (the faults run for minutes without deadlines)."""

UNAVAILABLE = 6


def run(sim: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``alltoken-agent ARGS --base-url SIM`` as a child process, with a key set."""
    env = {**os.environ, "ALLTOKEN_API_KEY": TEST_KEY}
    return subprocess.run(
        [sys.executable, "-m", "alltoken_agent", *args, "--base-url", sim.base_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


@pytest.fixture
def media_sim(sim: Any, isolated_environment: Path) -> Any:
    """The simulator with fast jobs, and the short deadlines in the config file."""
    write_config(isolated_environment, CONFIG)
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1
    return sim


def faults_seen(sim: Any) -> list[str | None]:
    return [request.fault for request in sim.state.requests]


def only_job(kind: str) -> Any:
    with Store() as store:
        (job,) = store.media_jobs.unfinished()
    assert job.kind == kind
    return job


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "code", "says"),
    [
        ("ping_forever", "total_timeout", "took longer than 2 s"),
        ("trickle:0.2", "total_timeout", "took longer than 2 s"),
        ("trickle:1", "idle_timeout", "sent nothing for 0.5 s"),
    ],
)
def test_an_image_submit_that_never_finishes_ends_at_a_deadline(
    media_sim: Any, tmp_path: Path, fault: str, code: str, says: str
) -> None:
    # A byte every 0.05 s or 0.2 s is no pause: only the total deadline ends those; a
    # byte a second is a pause past the idle deadline.
    media_sim.state.enqueue_faults([fault])
    result = run(media_sim, "image", "a fox", "-o", str(tmp_path / "fox.png"))
    assert result.returncode == UNAVAILABLE, result.stderr
    assert code in result.stderr and says in result.stderr
    assert fault in faults_seen(media_sim)
    # The submit may have reached the gateway: the job stays, and the hint names it.
    job = only_job("image")
    assert f"alltoken-agent jobs resume {job.id}" in result.stderr


@pytest.mark.slow
def test_a_poll_that_goes_quiet_ends_at_the_idle_deadline_and_the_job_resumes(
    media_sim: Any, isolated_environment: Path, tmp_path: Path
) -> None:
    # The submit is answered; the first poll says nothing for 3 s (idle deadline 0.5 s).
    media_sim.state.enqueue_faults(["no_done", "slow:3"])
    target = tmp_path / "fox.png"
    result = run(media_sim, "image", "a fox", "-o", str(target))
    assert result.returncode == UNAVAILABLE, result.stderr
    assert "idle_timeout" in result.stderr and "sent nothing for 0.5 s" in result.stderr
    job = only_job("image")
    assert job.status == "pending" and job.task_id is not None
    assert f"alltoken-agent jobs resume {job.id}" in result.stderr
    # `jobs resume` takes the deadlines as flags, and a resume cut off the same way
    # leaves the job as it was.
    write_config(isolated_environment, "[retry]\nmax_retries = 0\n")
    media_sim.state.enqueue_faults(["slow:3"])
    again = run(media_sim, "jobs", "resume", job.id, "--idle-timeout", "0.5", "--timeout", "2")
    assert again.returncode == UNAVAILABLE, again.stderr
    assert "idle_timeout" in again.stderr
    assert only_job("image").status == "pending"
    resumed = run(media_sim, "jobs", "resume", job.id)
    assert resumed.returncode == 0, resumed.stderr
    assert target.is_file()


@pytest.mark.slow
def test_a_poll_that_trickles_forever_ends_at_the_total_deadline_given_as_a_flag(
    media_sim: Any, isolated_environment: Path, tmp_path: Path
) -> None:
    write_config(isolated_environment, "[retry]\nmax_retries = 0\n")  # the flags decide
    media_sim.state.enqueue_faults(["no_done", "ping_forever"])
    result = run(
        media_sim,
        "image",
        "a fox",
        "-o",
        str(tmp_path / "fox.png"),
        "--timeout",
        "1.5",
        "--idle-timeout",
        "0.5",
    )
    assert result.returncode == UNAVAILABLE, result.stderr
    assert "total_timeout" in result.stderr and "took longer than 1.5 s" in result.stderr
    assert faults_seen(media_sim)[1] == "ping_forever"
    assert only_job("image").status == "pending"


@pytest.mark.slow
def test_a_video_submit_that_never_finishes_ends_with_exit_6(
    media_sim: Any, tmp_path: Path
) -> None:
    media_sim.state.enqueue_faults(["ping_forever"])
    result = run(media_sim, "video", "a fox", "-o", str(tmp_path / "fox.mp4"), "--json")
    assert result.returncode == UNAVAILABLE, result.stderr
    errors = [e for e in map(json.loads, result.stdout.splitlines()) if e["event"] == "error"]
    assert errors and errors[-1]["cause"]["code"] == "total_timeout"
    only_job("video")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "code"), [("ping_forever", "total_timeout"), ("trickle:1", "idle_timeout")]
)
def test_check_ends_at_the_deadlines(media_sim: Any, fault: str, code: str) -> None:
    # Spaces every 0.05 s keep the SDK's read timeout from firing: only the total
    # deadline ends it. A word a second is a 1 s pause, past the 0.5 s idle deadline.
    media_sim.state.enqueue_faults([fault])
    result = run(media_sim, "check", "--json")
    assert result.returncode == UNAVAILABLE, result.stderr
    record = json.loads(result.stdout)
    assert record["integration_status"] == "failed" and record["error_code"] == code
    assert faults_seen(media_sim) == [fault]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "says"), [("ping_forever", "total_timeout"), ("trickle:1", "idle_timeout")]
)
def test_a_model_list_that_never_finishes_ends_with_exit_6(
    media_sim: Any, fault: str, says: str
) -> None:
    # A pause of a second is past the idle deadline (0.5 s): the read ends there,
    # before the total deadline would.
    media_sim.state.enqueue_faults([fault])
    result = run(media_sim, "models")
    assert result.returncode == UNAVAILABLE, result.stderr
    assert says in result.stderr
    assert fault in faults_seen(media_sim)


@asynccontextmanager
async def file_server(pause: float) -> AsyncIterator[str]:
    """A file host whose body never ends: a byte every ``pause`` seconds, no length."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n")
            while True:
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(pause)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test's loop is closing
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/result.png"
    finally:
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize(("pause", "code"), [(0.05, "total_timeout"), (1.0, "idle_timeout")])
async def test_a_result_download_that_never_ends_stops_at_a_deadline(
    sim: Any, tmp_path: Path, pause: float, code: str
) -> None:
    timeouts = TimeoutSettings(idle=0.5, total=1.5)
    target = tmp_path / "result.png"
    no_retry = RetryPolicy(max_retries=0)
    async with (
        file_server(pause) as url,
        gateway_for(sim, timeout=timeouts, retry=no_retry) as gateway,
    ):
        with anyio.fail_after(GUARD):  # a guard against a hang, not the assertion
            with pytest.raises(GatewayTimeoutError) as caught:
                await download(gateway, url, target)
    assert caught.value.code == code
    assert list(tmp_path.iterdir()) == []  # the part file is gone, nothing half-written


async def test_a_whole_chat_reply_that_pauses_ends_at_the_idle_deadline(sim: Any) -> None:
    # Not streamed: the idle deadline is a pause in the bytes, as for media and the catalog.
    sim.state.enqueue_faults(["trickle:1"])
    timeouts = TimeoutSettings(idle=0.5, total=30)
    async with gateway_for(sim, timeout=timeouts, retry=RetryPolicy(max_retries=0)) as gateway:
        with anyio.fail_after(GUARD), pytest.raises(GatewayTimeoutError) as caught:
            await gateway.chat([{"role": "user", "content": "hi"}])
    assert caught.value.code == "idle_timeout"
    assert "sent nothing for 0.5 s" in str(caught.value)

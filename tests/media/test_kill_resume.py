"""A real process killed while it polls loses nothing: `jobs resume` finishes the job.

End to end on purpose: the CLI runs as a child process (`python -m alltoken_agent`)
against the simulator served in this test process, and is killed with SIGKILL, so no
cleanup code of ours gets to run.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from alltoken_agent.store import Store
from tests.cli.helpers import ndjson, run_cli
from tests.gateway.helpers import TEST_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _lines(stream: Any, sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


def _until_submitted(lines: queue.Queue[str]) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(lines.get(timeout=60))
        if event["event"] == "job:submitted":
            return event


def _until_polled(sim: Any, task_id: str) -> None:
    """Wait until the simulator has answered at least one poll of the task."""
    deadline = time.monotonic() + 60
    while not sim.state.media.polls.get(task_id):
        assert time.monotonic() < deadline, "the child never polled its task"
        time.sleep(0.02)


def _kill_while_polling(sim: Any, *args: str) -> dict[str, Any]:
    """Run the CLI with ``args`` in a child, SIGKILL it once it has polled; its submit event."""
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", *args, "--base-url", sim.base_url, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True)
    reader.start()
    try:
        event = _until_submitted(lines)
        _until_polled(sim, event["task_id"])  # killed mid-polling, not between steps
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    with Store() as store:  # the child's journal, in this test's ALLTOKEN_AGENT_HOME
        job = store.media_jobs.get(event["job_id"])
    assert job is not None and job.status == "pending" and job.task_id == event["task_id"]
    assert job.remote_status in (None, "queued", "processing")
    return event


@pytest.mark.slow
def test_a_killed_image_job_is_resumed_without_a_second_submit(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)  # the simulator scopes tasks per key
    httpx.post(f"{sim.url}/_sim/media", json={"image_seconds": 5}).raise_for_status()
    target = tmp_path / "fox.png"
    event = _kill_while_polling(sim, "image", "a fox in snow", "--size", "64x64", "-o", str(target))
    job_id = event["job_id"]
    assert not target.exists()

    sim.state.media.advance(5)  # the job finishes while nobody watches
    result = run_cli("jobs", "resume", job_id, "--base-url", sim.base_url, "--json")
    assert result.exit_code == 0, result.stderr
    done = ndjson(result.stdout)[-1]
    assert done["event"] == "job:done" and done["paths"] == [str(target)]
    assert sim.state.media.submits["image"] == 1
    with Image.open(target) as image:
        assert image.size == (64, 64)
    with Store() as store:
        assert store.media_jobs.get(job_id).status == "completed"  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_killed_video_job_is_resumed_on_the_gateway_it_was_made_on(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    sim.state.media.video_seconds = 5
    target = tmp_path / "clip.mp4"
    event = _kill_while_polling(sim, "video", "a fox runs", "--duration", "5", "-o", str(target))
    assert not target.exists()

    sim.state.media.advance(5)
    result = run_cli("jobs", "resume", "--json")  # no flags: back to the journaled base URL
    assert result.exit_code == 0, result.stderr
    done = ndjson(result.stdout)[-1]
    assert done == {**done, "event": "job:done", "job_id": event["job_id"]}
    assert done["paths"] == [str(target)] and target.read_bytes()[4:8] == b"ftyp"
    assert sim.state.media.submits == {"video": 1}


@pytest.mark.slow
def test_ctrl_c_leaves_the_job_pending_and_says_how_to_resume(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    sim.state.media.image_seconds = 30
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "image", "a fox", "--base-url", sim.base_url,
         "--json", "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True)
    reader.start()
    try:
        job_id = _until_submitted(lines)["job_id"]
        child.send_signal(signal.SIGINT)  # what Ctrl-C sends
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join(timeout=30)
        assert child.stdout is not None and child.stderr is not None
        stderr = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == 130
    assert f"alltoken-agent jobs resume {job_id}" in stderr
    rest = [json.loads(lines.get_nowait()) for _ in range(lines.qsize())]
    assert [(e["event"], e.get("code")) for e in rest] == [("error", "interrupted")]
    with Store() as store:
        assert store.media_jobs.get(job_id).status == "pending"  # type: ignore[union-attr]

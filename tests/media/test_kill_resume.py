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


def test_a_killed_image_job_is_resumed_without_a_second_submit(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)  # the simulator scopes tasks per key
    httpx.post(f"{sim.url}/_sim/media", json={"image_seconds": 5}).raise_for_status()
    target = tmp_path / "fox.png"
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "image", "a fox in snow", "--size", "64x64",
         "--base-url", sim.base_url, "--json", "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True)
    reader.start()
    try:
        event = _until_submitted(lines)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    job_id = event["job_id"]
    assert not target.exists()
    with Store() as store:  # the child's journal, in this test's ALLTOKEN_AGENT_HOME
        job = store.media_jobs.get(job_id)
    assert job is not None and job.status == "pending" and job.task_id == event["task_id"]

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

"""SIGTERM stops a command as Ctrl-C does: what was paid for is recorded, then exit 143.

End to end on purpose: signals reach a real process, so the CLI runs as a child
(`python -m alltoken_agent`) against the simulator served in this test process. The
reply stalls mid-stream (`stall:N:S`) so the signal lands while a request is in flight.
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

import pytest

from alltoken_agent.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository
from tests.gateway.helpers import TEST_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _lines(stream: Any, sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


def _signal_mid_reply(args: list[str], signum: int) -> tuple[int, str, list[dict[str, Any]]]:
    """Run the CLI; once the first text delta is out, send ``signum``. Exit code, stderr, events."""
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ALLTOKEN_API_KEY": TEST_KEY},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True)
    reader.start()
    events: list[dict[str, Any]] = []
    try:
        while not events or events[-1]["event"] != "stream:delta":
            events.append(json.loads(lines.get(timeout=60)))
        child.send_signal(signum)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join(timeout=30)
        assert child.stdout is not None and child.stderr is not None
        stderr = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
    events += [json.loads(lines.get_nowait()) for _ in range(lines.qsize())]
    return child.returncode, stderr, events


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "name", "code"), [(signal.SIGTERM, "SIGTERM", 143), (signal.SIGINT, "SIGINT", 130)]
)
def test_a_signal_mid_reply_records_the_request_and_writes_the_usage_file(
    sim: Any, tmp_path: Path, signum: int, name: str, code: int
) -> None:
    sim.state.enqueue_faults(["stall:2:30"])  # one delta, then silence until the signal
    usage_file = tmp_path / "usage.json"
    args = ["chat", "--base-url", sim.base_url, "--tools", "none", "--usage-file", str(usage_file)]
    exit_code, stderr, events = _signal_mid_reply([*args, "hi"], signum)

    assert exit_code == code, stderr
    assert f"error: interrupted by {name}" in stderr  # an error line, like every other
    assert "Traceback" not in stderr
    error = events[-1]
    assert error == {**error, "event": "error", "code": "interrupted", "signal": name}

    report = json.loads(usage_file.read_text())
    assert report["status"] == "error"
    assert report["error"] == {
        **report["error"],
        "code": "interrupted",
        "message": f"interrupted by {name}",
        "signal": name,
        "exit_code": code,
    }
    assert [r["outcome"] for r in report["requests"]] == ["cancelled"]

    with Store() as store:  # the child's ledger, in this test's ALLTOKEN_AGENT_HOME
        usage = UsageRepository.of(store)
        # Either book: whether a reply from the simulator counts as simulated is not
        # what this test is about.
        rows = [*usage.rows(UsageQuery()), *usage.rows(UsageQuery(simulated=True))]
    assert [(r.kind, r.outcome) for r in rows] == [("chat", "cancelled")]


@pytest.mark.slow
def test_sigterm_leaves_an_image_job_pending_and_says_how_to_resume(
    sim: Any, tmp_path: Path
) -> None:
    sim.state.media.image_seconds = 30
    args = ["image", "a fox", "--base-url", sim.base_url, "--json", "-o", str(tmp_path)]
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ALLTOKEN_API_KEY": TEST_KEY},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True)
    reader.start()
    try:
        while (event := json.loads(lines.get(timeout=60)))["event"] != "job:submitted":
            pass
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reader.join(timeout=30)
        assert child.stdout is not None and child.stderr is not None
        stderr = child.stderr.read()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == 143, stderr
    assert f"alltoken-agent jobs resume {event['job_id']}" in stderr
    rest = [json.loads(lines.get_nowait()) for _ in range(lines.qsize())]
    assert [(e["event"], e.get("signal")) for e in rest] == [("error", "SIGTERM")]
    with Store() as store:
        job = store.media_jobs.get(event["job_id"])
    assert job is not None and job.status == "pending"

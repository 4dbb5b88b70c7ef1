"""Two real processes finish one job: the second waits for the first, nothing is lost.

End to end on purpose: `alltoken-agent image` runs in one child process and `jobs
resume` for the same job in another, both on one SQLite journal (this test's
ALLTOKEN_AGENT_HOME), against the simulator served in this test process. Before the
lease, the resume polled the same task: one process saved the image and the other
journaled it `failed image_already_retrieved` and told the user to pay again.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent.store import Store
from tests.gateway.helpers import TEST_KEY

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


class Child:
    """One CLI process whose stdout NDJSON events are read by a thread."""

    def __init__(self, folder: Path, name: str, *args: str) -> None:
        self.stderr_path = folder / f"{name}.err"
        with self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "alltoken_agent", *args, "--json"],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=os.environ.copy(),
            )
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def until(self, check: Any, what: str) -> dict[str, Any]:
        """Read events until one passes ``check`` (a minute at most)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                event: dict[str, Any] = json.loads(self._lines.get(timeout=1))
            except queue.Empty:
                assert self.process.poll() is None, f"ended before {what}: {self.stderr}"
                continue
            self.events.append(event)
            if check(event):
                return event
        raise AssertionError(f"never saw {what}")

    def finish(self) -> int:
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=30)
        while not self._lines.empty():
            self.events.append(json.loads(self._lines.get()))
        self._close()
        return code

    def _close(self) -> None:
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.process.stdout.close()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        self._close()


@pytest.mark.slow
def test_a_resume_while_the_first_process_polls_waits_and_nothing_is_lost(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)  # the simulator scopes tasks per key
    sim.state.media.enqueue_job_faults(["slow:30"])  # runs until the test moves the clock
    target = tmp_path / "fox.png"
    first = Child(
        tmp_path, "first", "image", "a fox", "--size", "64x64", "-o", str(target),
        "--base-url", sim.base_url,
    )  # fmt: skip
    second: Child | None = None
    try:
        submitted = first.until(lambda e: e["event"] == "job:submitted", "the submit")
        job_id, task_id = submitted["job_id"], submitted["task_id"]
        deadline = time.monotonic() + 60
        while not sim.state.media.polls.get(task_id):
            assert time.monotonic() < deadline, "the first process never polled"
            time.sleep(0.02)

        second = Child(tmp_path, "second", "jobs", "resume", job_id)
        second.until(
            lambda e: e["event"] == "job:status" and e["status"] == "waiting",
            "the second process waiting",
        )
        sim.state.media.advance(30)  # the task completes while both processes run
        assert first.finish() == 0, first.stderr
        assert second.finish() == 0, second.stderr
    finally:
        first.kill()
        if second is not None:
            second.kill()

    assert first.events[-1]["event"] == "job:done" and first.events[-1]["paths"] == [str(target)]
    done = second.events[-1]
    assert (done["event"], done["job_id"], done["paths"]) == ("job:done", job_id, [str(target)])
    assert "being finished by another process" in second.stderr
    for child in (first, second):
        assert "error" not in [e["event"] for e in child.events]
        assert "lost" not in child.stderr and "submit the prompt again" not in child.stderr
    assert sim.state.media.submits == {"image": 1}
    with Image.open(target) as image:
        assert image.size == (64, 64)
    with Store() as store:
        job = store.media_jobs.get(job_id)
    assert job is not None and (job.status, job.error_code) == ("completed", None)
    assert job.lease_owner is None

"""Two server processes on one PostgreSQL database: one session, continued on either replica.

Each replica is a real ``python -m alltoken_agent serve --offline`` process (with the
gateway simulator in-process), as a load balancer would see them. The keys are fresh
for each run, so a database kept between runs ($ALLTOKEN_AGENT_TEST_PG_URL) does not
leak earlier sessions into the assertions.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import auth
from tests.server.test_messages import SSE, sse_events

pytestmark = pytest.mark.slow


class Replica:
    """One ``alltoken-agent serve`` process."""

    def __init__(
        self,
        name: str,
        pg_url: str,
        folder: Path,
        keys: str,
        *,
        args: Sequence[str] = ("--offline",),
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Start it; ``args`` (default ``--offline``) choose its gateway and media folder."""
        self.name = name
        self.out = folder / f"{name}.out"
        self.err = folder / f"{name}.err"
        environment = {
            **os.environ,
            "ALLTOKEN_AGENT_SERVER_KEYS": keys,
            "ALLTOKEN_AGENT_HOME": str(folder / name),
            **(env or {}),
        }
        command = [sys.executable, "-m", "alltoken_agent", "serve", *args, "--port", "0"]
        command += ["--store", pg_url, "--log-level", "warning"]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=environment)
        self.url = ""

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"http://127\.0\.0\.1:\d+", self.out.read_text())
            if found:
                self.url = found.group(0)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"replica {self.name} did not start:\n{self.err.read_text()}")

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=auth(key), timeout=30)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease given up; reaped, so its pid is free."""
        self.process.kill()
        self.process.wait(15)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


KEY_A = secrets.token_urlsafe(24)
KEY_B = secrets.token_urlsafe(24)


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path) -> Iterator[tuple[Replica, Replica]]:
    keys = f"{KEY_A},{KEY_B}"
    first, second = Replica("one", pg_url, tmp_path, keys), Replica("two", pg_url, tmp_path, keys)
    try:
        first.wait_ready()
        second.wait_ready()
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_a_session_created_on_one_replica_continues_on_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    one, two = replicas
    with one.client(KEY_A) as alice_one, two.client(KEY_A) as alice_two:
        created = alice_one.post("/v1/sessions", json={"tools": ["calculate"]})
        assert created.status_code == 201
        session_id = created.json()["id"]
        first = alice_one.post(
            f"/v1/sessions/{session_id}/messages", json={"content": "My name is Ada."}
        )
        assert first.status_code == 200, first.text

        with alice_two.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "What is my name?"},
            headers=SSE,
        ) as response:
            assert response.status_code == 200
            events = sse_events(response)
        name, done = events[-1]
        assert name == "done"
        # Replica two sent the whole history, stored by replica one, to its model.
        assert done["usage"]["prompt_tokens"] > first.json()["usage"]["prompt_tokens"]

        detail = alice_one.get(f"/v1/sessions/{session_id}").json()
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"] * 2
        assert detail["messages"][2]["content"] == "What is my name?"
        assert [s["id"] for s in alice_two.get("/v1/sessions").json()["sessions"]] == [session_id]
        # One ledger for both replicas.
        assert alice_one.get("/v1/usage").json()["totals"]["requests"] == 2
        assert alice_two.get("/v1/usage").json()["totals"]["requests"] == 2

    with one.client(KEY_B) as bob_one, two.client(KEY_B) as bob_two:
        assert bob_one.get(f"/v1/sessions/{session_id}").status_code == 404
        assert bob_two.delete(f"/v1/sessions/{session_id}").status_code == 404
        assert bob_two.get("/v1/usage").json()["totals"]["requests"] == 0

    with two.client(KEY_A) as alice_two, one.client(KEY_A) as alice_one:
        assert alice_two.delete(f"/v1/sessions/{session_id}").status_code == 204
        assert alice_one.get(f"/v1/sessions/{session_id}").status_code == 404

    # SIGTERM shuts a replica down cleanly.
    assert one.stop() == 0
    assert two.stop() == 0
    assert "Traceback" not in one.err.read_text() + two.err.read_text()

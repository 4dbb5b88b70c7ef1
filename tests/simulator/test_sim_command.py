"""`alltoken-agent simulator` as a user runs it: a real process on a free port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_simulator_command_announces_the_real_url_and_serves_it() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "simulator", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", first)
        assert match and match.group(1) != "0", first  # the bound port, not the requested 0
        response = httpx.post(
            match.group(0) + "/chat/completions",
            headers={"Authorization": "Bearer k"},
            json={"model": "minimax-m2.7", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        assert response.status_code == 200 and "simulated" in response.text
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
    assert process.returncode == 0
    assert rest.count("Shutting down") == 1


def test_simulator_command_refuses_a_public_host_without_announcing_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alltoken_agent", "simulator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: the simulator only binds loopback")
    assert "0.0.0.0:" not in result.stderr

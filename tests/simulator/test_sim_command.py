"""`alltoken-agent simulator` as a user runs it: a real process on a free port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest

from alltoken_agent.simulator import FAULT_HEADER

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


def test_the_commands_disconnect_fault_cuts_the_stream_on_its_own_loop() -> None:
    """The command runs on uvloop and httptools where installed (the tests' in-thread
    simulator on asyncio's loop): dropping a connection must work there too."""
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "simulator", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        match = re.search(r"http://127\.0\.0\.1:\d+/v1", process.stderr.readline())
        assert match
        body = {"model": "minimax-m2.7", "messages": [{"role": "user", "content": "hi"}]}
        lines: list[str] = []
        with (
            httpx.Client(base_url=match.group(0), timeout=10) as client,
            pytest.raises(httpx.RemoteProtocolError),
            client.stream(
                "POST",
                "/chat/completions",
                json=body | {"stream": True},
                headers={"Authorization": "Bearer k", FAULT_HEADER: "disconnect:2"},
            ) as response,
        ):
            lines.extend(response.iter_lines())
        assert len([line for line in lines if line.startswith("data: ")]) == 2
        after = httpx.post(
            match.group(0) + "/chat/completions",
            headers={"Authorization": "Bearer k"},
            json=body,
            timeout=10,
        )
        assert after.status_code == 200  # the process serves on
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
    assert process.returncode == 0
    # Cut as a fault, not by an error of the app's (which would close it as well).
    assert "Traceback" not in rest and "SimulatedDisconnect" not in rest


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

"""`alltoken-agent simulator` as a user runs it: a real process on a free port."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from alltoken_agent.simulator import FAULT_HEADER
from tests.conftest import start_simulator

pytestmark = pytest.mark.slow

BODY = {"model": "minimax-m2.7", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": "Bearer k"}


def test_simulator_command_announces_the_real_url_and_serves_it() -> None:
    with start_simulator() as command:
        assert ":0/" not in command.announced  # the bound port, not the requested 0
        response = httpx.post(
            command.url + "/chat/completions", headers=AUTH, json=BODY, timeout=10
        )
        assert response.status_code == 200 and "simulated" in response.text
    assert command.process.returncode == 0
    assert command.rest.count("Shutting down") == 1


def test_the_commands_disconnect_fault_cuts_the_stream_on_its_own_loop() -> None:
    """The command runs on uvloop and httptools where installed (the tests' in-thread
    simulator on asyncio's loop): dropping a connection must work there too."""
    lines: list[str] = []
    with start_simulator() as command:
        with (
            httpx.Client(base_url=command.url, timeout=10) as client,
            pytest.raises(httpx.RemoteProtocolError),
            client.stream(
                "POST",
                "/chat/completions",
                json=BODY | {"stream": True},
                headers=AUTH | {FAULT_HEADER: "disconnect:2"},
            ) as response,
        ):
            lines.extend(response.iter_lines())
        assert len([line for line in lines if line.startswith("data: ")]) == 2
        after = httpx.post(command.url + "/chat/completions", headers=AUTH, json=BODY, timeout=10)
        assert after.status_code == 200  # the process serves on
    assert command.process.returncode == 0
    # Cut as a fault, not by an error of the app's (which would close it as well).
    assert "Traceback" not in command.rest and "SimulatedDisconnect" not in command.rest


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

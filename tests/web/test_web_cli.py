"""`alltoken-agent web`: a loopback server with the console, offline, without a browser."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import run_cli, write_config

pytestmark = pytest.mark.slow


def test_web_serves_the_console_offline_on_loopback(isolated_environment: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["ALLTOKEN_AGENT_HOME"] = str(isolated_environment)
    env.pop("ALLTOKEN_AGENT_SERVER_KEYS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "web", "--offline", "--no-open"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.fullmatch(r"alltoken-agent console on (http://127\.0\.0\.1:\d+)/\n", line)
    try:
        assert found is not None, f"{line!r} {process.stderr and process.stderr.read(2000)}"
        with httpx.Client(base_url=found.group(1), timeout=30) as client:
            page = client.get("/")
            assert page.status_code == 200 and 'data-auth="none"' in page.text
            session = client.post("/v1/sessions", json={}).json()
            reply = client.post(f"/v1/sessions/{session['id']}/messages", json={"content": "hi"})
            assert reply.status_code == 200
            spend = client.get("/v1/spend").json()
        assert spend["server_book"] == "simulated"
        assert spend["simulated"]["period"]["requests"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err


def test_web_refuses_a_bad_port() -> None:
    result = run_cli("web", "--port", "70000", "--no-open")
    assert result.exit_code == 2
    assert "--port" in result.stderr


def test_web_help_has_an_example() -> None:
    result = run_cli("web", "--help")
    assert result.exit_code == 0
    assert "alltoken-agent web --offline --no-open" in result.stdout


def test_serve_on_a_simulator_by_base_url_reads_the_simulated_book(
    isolated_environment: Path,
) -> None:
    """The gateway learns from the first reply that a simulator answers: budgets, reports
    and spend then read the simulator's book, not the real one."""
    from alltoken_agent.simulator import SimulatorServer

    write_config(isolated_environment, '[server]\ndaily_budget_usd = "1.00"\n')
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["ALLTOKEN_AGENT_HOME"] = str(isolated_environment)
    env.pop("ALLTOKEN_AGENT_SERVER_KEYS", None)
    env["ALLTOKEN_API_KEY"] = "sk-simulated-gateway-key"
    with SimulatorServer("alltoken") as simulator:  # labels its replies as a simulator's
        command = ["serve", "--base-url", simulator.base_url, "--port", "0"]
        process = subprocess.Popen(
            [sys.executable, "-m", "alltoken_agent", *command, "--log-level", "warning"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline())
        try:
            assert found is not None
            with httpx.Client(base_url=found.group(0), timeout=30) as client:
                session = client.post("/v1/sessions", json={"tools": []}).json()
                reply = client.post(
                    f"/v1/sessions/{session['id']}/messages", json={"content": "hi"}
                )
                assert reply.status_code == 200, reply.text
                usage = client.get("/v1/usage").json()
                spend = client.get("/v1/spend").json()
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert usage["totals"]["requests"] == 1  # the server's report reads the simulated book
    assert spend["server_book"] == "simulated"
    assert spend["real"]["period"]["requests"] == 0
    spent = spend["simulated"]["month"]["cost"]
    assert spent is not None and Decimal(spent) > 0
    # The budget counts the book the server's requests go to.
    assert Decimal(spend["budget"]["spent"]) == Decimal(spent)
    assert Decimal(reply.json()["budget"]["spent"]) == Decimal(spent)

"""``chat`` pauses the cyclic garbage collector while it starts, until its reply starts.

Importing what a chat run needs set the collector off about 90 times before the
request (cli/_chat_quick.py); none of it is garbage. Each run here is a fresh process
(this one imported everything already) against the simulator, noting the collector's
state as the agent's events (and with them the gateway) are imported, as the request
connects, and at exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.helpers import TEST_KEY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json, sys
from alltoken_agent.cli import main

seen = {}


def note(event, args):
    if event == "import" and args[0] == "alltoken_agent.agent.events" and "import" not in seen:
        seen["import"] = gc.isenabled()
    elif event == "socket.connect" and "connect" not in seen:
        seen["connect"] = gc.isenabled()


sys.addaudithook(note)
sys.argv = ["alltoken-agent", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exit_:
    seen["code"] = exit_.code
seen["end"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count() > 0
sys.stderr.write("\\n" + json.dumps(seen) + "\\n")
"""


def chat_gc(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["chat", *args])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    *said, last = done.stderr.strip().splitlines()
    return {**json.loads(last), "stdout": done.stdout, "stderr": said}


def test_a_plain_chat_starts_without_the_collector_and_sends_with_it(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    run = chat_gc("--base-url", sim.base_url, "hi")
    assert run.get("code", 0) == 0, run["stderr"]
    assert run["stdout"].strip()  # the reply was printed
    # Off while the agent was imported and the request sent; on again once the reply
    # started, with what start-up made frozen (never scanned again).
    assert (run["import"], run["connect"], run["end"], run["frozen"]) == (
        False,
        False,
        True,
        True,
    ), run["stderr"]


def test_a_chat_typer_parses_keeps_the_collector_on(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    run = chat_gc("--base-url", sim.base_url, "--max-steps", "2", "hi")  # a number: Typer's
    assert run.get("code", 0) == 0, run["stderr"]
    assert (run["import"], run["connect"], run["end"]) == (True, True, True), run["stderr"]


def test_a_chat_that_fails_before_its_request_exits_with_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    run = chat_gc("--provider", "no-such-provider", "hi")
    assert run["code"] == 2, run["stderr"]
    assert "connect" not in run and run["end"] is True

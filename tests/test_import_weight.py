"""What ``import alltoken_agent.gateway`` and ``import alltoken_agent.agent`` load.

Each check runs in a fresh interpreter: this test process has imported everything
already, so only a new one shows what an import pulls in. The times are measured by
bench/import_time.py, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.store import Store
from tests.cli.helpers import run_cli, write_config
from tests.gateway.helpers import TEST_KEY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NEVER = ("sqlalchemy", "openai", "starlette", "uvicorn", "PIL")
"""Heavy libraries that talking to a gateway or running an agent needs none of."""
FRONT_ENDS = ("typer", "textual", "fastapi", "mcp")
"""The core never imports a front end's framework (docs/architecture.md)."""
PROBE = """
import json, sys
import {module}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def top_level_modules(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after ``import module``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", ["alltoken_agent.gateway", "alltoken_agent.agent"])
def test_the_core_imports_nothing_heavy(module: str) -> None:
    loaded = top_level_modules(module)
    assert "alltoken_agent" in loaded and "httpx" in loaded  # the probe did import it
    assert sorted(loaded & {*NEVER, *FRONT_ENDS}) == []


CHAT_RUN = """
import json, logging, sys
from alltoken_agent.cli import main

HEAVY = {heavy!r}
seen = {{}}


def loaded():
    return sorted({{m.split(".")[0] for m, module in sys.modules.items() if module is not None}})


def note(event, args):
    if event == "socket.connect" and "connect" not in seen:
        from alltoken_agent.config import Config

        validator = type(Config.__pydantic_validator__).__name__
        seen["connect"] = {{"heavy": sorted(HEAVY & set(loaded())), "config": validator}}


sys.addaudithook(note)
said = logging.StreamHandler()  # on stderr: why a row took the store's way, if it did
said.setLevel(logging.DEBUG)
logging.getLogger("alltoken_agent").addHandler(said)
logging.getLogger("alltoken_agent").setLevel(logging.DEBUG)
sys.argv = ["alltoken-agent", *json.loads(sys.argv[1])]
try:
    main()
    seen["code"] = 0
except SystemExit as exit_:
    seen["code"] = exit_.code
seen["end"] = sorted(HEAVY & set(loaded()))
sys.stderr.write("\\n" + json.dumps(seen) + "\\n")
"""
CHAT_NEVER = ("sqlalchemy", "aiohttp", "rich", "pygments", "click", *NEVER, *FRONT_ENDS)
"""What ``chat`` never imports on a plain run (no Typer either: cli/_chat_quick.py)."""


def chat_run(*args: str) -> dict[str, Any]:
    """What a fresh ``alltoken-agent chat ARGS`` process held at its request and at exit."""
    code = CHAT_RUN.format(heavy=set(CHAT_NEVER))
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(["chat", *args])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    *said, last = done.stderr.strip().splitlines()
    return {**json.loads(last), "stderr": said}


def test_chat_sends_and_records_without_the_store_or_the_config_validators(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    home = Path(os.environ["ALLTOKEN_AGENT_HOME"])
    write_config(home, 'model = "gpt-5.4-nano"\n[timeouts]\ntotal = 60\n')
    Store().close()  # the store exists at its head migration: a run after the first
    args = ("--base-url", sim.base_url, "--tools", "none", "hi")
    for _ in range(2):
        run = chat_run(*args)
        assert run["code"] == 0, run["stderr"]
        # Before the request: no store, no aiohttp pool, no Typer or Rich, no config
        # validators.
        assert run["connect"] == {"heavy": [], "config": "MockValSer"}, run["stderr"]
        # ... and after it: the ledger row went in without SQLAlchemy.
        assert run["end"] == [], run["stderr"]
    report = json.loads(run_cli("usage", "--json").stdout)
    assert report["totals"]["requests"] == 2 and report["totals"]["cost"] is not None

"""What `--help` imports: no command module for the root, nothing heavy for any command.

Each check runs in a fresh interpreter: this test process has imported everything
already, so only a new one shows what running the CLI pulls in. Timing is measured
by bench/cli_startup.py, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from alltoken_agent.cli.app import COMMANDS
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {
    "sqlalchemy",
    "textual",
    "fastapi",
    "starlette",
    "uvicorn",
    "openai",
    "mcp",
    "PIL",
    "httpx",
    "pydantic",
    "rich",
}
LOADED = """
import json, sys
from alltoken_agent.cli import main

sys.argv = ["alltoken-agent", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
ours = sorted(m for m in sys.modules if m.startswith("alltoken_agent"))
# A None entry blocks an import (cli/options.py blocks httpx's own CLI): not loaded.
third = sorted({m.split(".")[0] for m, module in sys.modules.items() if module is not None})
sys.stderr.write("\\n" + json.dumps({"ours": ours, "top": third}) + "\\n")
"""


def loaded_by(*args: str, code: str = LOADED) -> dict[str, Any]:
    """The modules a fresh interpreter holds after ``alltoken-agent ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    return dict(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.slow
def test_root_help_imports_no_command_module_and_nothing_heavy() -> None:
    loaded = loaded_by("--help")
    assert set(loaded["ours"]) == {
        "alltoken_agent",
        "alltoken_agent._lazy_exports",
        "alltoken_agent._version",
        "alltoken_agent.errors",
        "alltoken_agent.cli",
        "alltoken_agent.cli._lazy",
        "alltoken_agent.cli.app",
    }
    assert not HEAVY & set(loaded["top"])


@pytest.mark.slow
def test_chat_help_imports_the_chat_module_only_and_nothing_heavy() -> None:
    loaded = loaded_by("chat", "--help")
    commands = {m for m in loaded["ours"] if m.startswith("alltoken_agent.cli.")}
    assert commands == {
        "alltoken_agent.cli._lazy",
        "alltoken_agent.cli.app",
        "alltoken_agent.cli.chat",
        "alltoken_agent.cli.options",
    }
    core = {m.split(".")[1] for m in loaded["ours"] if m.count(".") >= 1}
    # No agent, gateway, store, ledger or config: the root package and its leaves only.
    assert core == {"_lazy_exports", "_version", "errors", "cli"}
    assert not HEAVY & set(loaded["top"])


@pytest.mark.slow
@pytest.mark.parametrize("name", [entry.name for entry in COMMANDS])
def test_no_command_help_imports_anything_heavy(name: str) -> None:
    loaded = loaded_by(name, "--help")
    assert not HEAVY & set(loaded["top"])
    others = {entry.target.split(":")[0] for entry in COMMANDS if entry.name != name}
    # image and video share helpers, as chat and image do; no other command comes along
    shared = {"alltoken_agent.cli.chat", "alltoken_agent.cli.image", "alltoken_agent.cli.models"}
    assert not (others - shared) & set(loaded["ours"])


def test_completing_a_command_name_imports_no_command_module() -> None:
    code = LOADED.replace(
        "from alltoken_agent.cli import main",
        "import os\nfrom alltoken_agent.cli import main\n"
        "os.environ.update(_ALLTOKEN_AGENT_COMPLETE='complete_bash', "
        "COMP_WORDS='alltoken-agent c', COMP_CWORD='1')",
    )
    loaded = loaded_by(code=code)
    assert not {m for m in loaded["ours"] if m.startswith("alltoken_agent.cli.")} - {
        "alltoken_agent.cli._lazy",
        "alltoken_agent.cli.app",
    }
    assert not HEAVY & set(loaded["top"])


# Parses chat's options with a command of the same signature that only reports back.
PARSE_CHAT = """
import functools, json, sys
import typer
from typer.main import get_command
from alltoken_agent.cli._lazy import QuickCommand
from alltoken_agent.cli.chat import chat

got = {}
single = typer.Typer(add_completion=False)
single.command("chat", cls=QuickCommand)(functools.wraps(chat)(lambda **kw: got.update(kw)))
get_command(single).main(json.loads(sys.argv[1]), standalone_mode=False)
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "pydantic_core"})
sys.stderr.write("\\n" + json.dumps({"heavy": heavy, "got": got}, default=str) + "\\n")
"""


@pytest.mark.slow
def test_parsing_chats_options_builds_no_pydantic_adapter() -> None:
    # Typer converts each value through a pydantic TypeAdapter; strings, unset options and
    # untouched defaults need none, so a plain chat's parse does not import pydantic.
    args = ["--base-url", "http://127.0.0.1:9/v1", "-m", "m", "--tools", "none", "--mcp", "a"]
    done = subprocess.run(
        [sys.executable, "-c", PARSE_CHAT, json.dumps([*args, "hi"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["heavy"] == []
    got = report["got"]
    assert (got["prompt"], got["model"], got["tools"], got["mcp"]) == ("hi", "m", "none", ["a"])
    assert (got["max_steps"], got["temperature"], got["search"]) == (5, None, False)


CHAT_ARGS = [
    ["hi"],
    ["--base-url", "http://x/v1", "-m", "m", "--tools", "none", "--mcp", "a", "--mcp", "b", "hi"],
    ["--max-steps", "3", "--temperature", "0.5", "--budget", "1", "--usage-file", "u.json", "hi"],
    ["--max-tokens", "5", "-c", "-y", "--json", "--session", "s", "hi"],
    ["--max-steps", "0", "hi"],
    ["--temperature", "warm", "hi"],
    ["--max-tokens", "-1", "hi"],
]


@pytest.mark.parametrize("args", CHAT_ARGS, ids=lambda args: " ".join(args))
def test_chats_options_convert_as_typers_own_conversion(args: list[str]) -> None:
    import functools

    import typer
    from typer.main import get_command

    from alltoken_agent.cli._lazy import QuickCommand
    from alltoken_agent.cli.chat import chat

    def parse(quick: bool) -> object:
        got: dict[str, Any] = {}
        single = typer.Typer(add_completion=False)
        record = functools.wraps(chat)(lambda **kw: got.update(kw))
        single.command("chat", **({"cls": QuickCommand} if quick else {}))(record)
        try:
            get_command(single).main(list(args), standalone_mode=False)
        except Exception as error:  # a bad value: the same error either way
            return f"{type(error).__name__}: {error}"
        return {name: (type(value), value) for name, value in got.items()}

    assert parse(quick=True) == parse(quick=False)


IMPORT_PACKAGE = "import json, sys, alltoken_agent; print(json.dumps([*sys.modules]))"


def test_importing_the_package_imports_nothing_heavy() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, alltoken_agent; print(json.dumps([*sys.modules]))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    top = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not HEAVY & top


AT_FIRST_CONNECT = """
import json, os, sys
from pathlib import Path
from alltoken_agent.cli import main

first = []


def files():
    home = Path(os.environ["ALLTOKEN_AGENT_HOME"])
    return sorted(str(path.relative_to(home)) for path in home.rglob("*") if path.is_file())


def note(event, args):
    # The first connection a run opens is its chat request's (nothing is looked up first).
    if event == "socket.connect" and not first:
        loaded = sorted(m for m, module in sys.modules.items() if module is not None)
        first.append({"address": list(args[1]), "loaded": loaded, "files": files()})


sys.addaudithook(note)
sys.argv = ["alltoken-agent", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exit_:
    code = exit_.code
else:
    code = 0
at_end = sorted(m for m, module in sys.modules.items() if module is not None)
done = {"code": code, "first": first, "at_end": at_end, "files": files()}
sys.stderr.write("\\n" + json.dumps(done) + "\\n")
"""


@pytest.mark.slow
def test_chat_sends_its_request_before_importing_the_store_or_the_catalog(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    args = ("chat", "--base-url", sim.base_url, "-m", "gpt-5.4-nano", "--tools", "none", "hi")
    done = loaded_by(*args, code=AT_FIRST_CONNECT)
    assert done["code"] == 0
    (first,) = done["first"]
    assert first["address"][1] == urlsplit(sim.base_url).port
    before = set(first["loaded"])
    tops = {name.split(".")[0] for name in before}
    assert not {"sqlalchemy", "rich", "click", "pygments"} & tops
    # One request at a time goes on httpx's own transport: aiohttp's pool (for many
    # concurrent streams) is never imported by chat, not even after the reply.
    assert "aiohttp" not in {name.split(".")[0] for name in done["at_end"]}
    assert not {"alltoken_agent.store", "alltoken_agent.ledger.ledger"} & before
    assert not {name for name in before if name.startswith("alltoken_agent.simulator")}
    # No price lookup at all (the simulator reported the cost), and the database came after.
    later = [name for name in done["files"] if "catalog" in name or name.endswith(".db")]
    assert not any("catalog" in name for name in later) and any(".db" in name for name in later)
    assert not set(later) & set(first["files"])
    # ... and the request was still recorded, after the reply: the store came later.
    assert {"sqlalchemy", "alltoken_agent.ledger.ledger"} <= set(done["at_end"])
    report = json.loads(run_cli("usage", "--json").stdout)
    assert report["totals"]["requests"] == 1 and report["totals"]["cost"] is not None

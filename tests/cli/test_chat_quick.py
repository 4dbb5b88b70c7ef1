"""``chat`` without Typer: the quick parser reads what Typer reads, or leaves the line to it.

``cli/_chat_quick.py`` repeats the names of chat's plain options and ``run_chat`` the
defaults of its parameters; these tests pin both to Typer's own command, and pin the
values of every line the quick parser accepts to the values Typer parses.
"""

from __future__ import annotations

import functools
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click.core import Command
from typer.core import TyperOption
from typer.main import get_command

from alltoken_agent.cli import _chat_quick as quick
from alltoken_agent.cli._chat_run import run_chat
from alltoken_agent.cli._lazy import QuickCommand
from alltoken_agent.cli.chat import chat
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]

TYPER_ONLY = {
    "--temperature",
    "--max-tokens",
    "--max-steps",
    "--budget",
    "--usage-file",
    "--timeout",
    "--idle-timeout",
}
"""Options whose values Typer converts and checks (numbers, a path): never parsed quickly."""


def typer_command() -> Command:
    single = typer.Typer(add_completion=False)
    single.command("chat", cls=QuickCommand)(chat)
    return get_command(single)


def typer_values(args: list[str]) -> dict[str, Any]:
    """What Typer hands the command for ``args``."""
    got: dict[str, Any] = {}
    single = typer.Typer(add_completion=False)
    single.command("chat", cls=QuickCommand)(functools.wraps(chat)(lambda **kw: got.update(kw)))
    get_command(single).main(list(args), standalone_mode=False)
    return got


def test_the_quick_tables_name_chats_plain_options() -> None:
    options = [p for p in typer_command().params if isinstance(p, TyperOption)]
    flags: dict[str, str | None] = {}
    texts: dict[str, str | None] = {}
    lists: dict[str, str | None] = {}
    for option in options:
        names = {*option.opts, *option.secondary_opts}
        if names & TYPER_ONLY:
            assert names <= TYPER_ONLY
            continue
        if option.name in ("help",):
            continue
        table = flags if option.is_flag else lists if option.multiple else texts
        table.update(dict.fromkeys(names, option.name))
    assert flags == quick.FLAGS
    assert texts == quick.TEXT_OPTIONS
    assert lists == quick.LIST_OPTIONS


def test_run_chat_has_chats_parameters_and_defaults() -> None:
    typed = inspect.signature(chat).parameters
    plain = dict(inspect.signature(run_chat).parameters)
    assert plain.pop("checked").default is False
    assert list(plain) == list(typed)
    assert {name: p.default for name, p in plain.items()} == {
        name: p.default for name, p in typed.items()
    }


PLAIN = [
    ["hi"],
    ["--base-url", "http://127.0.0.1:9/v1", "-m", "m", "--tools", "none", "hi"],
    ["hi", "--json", "-v"],
    ["--model=x", "--base-url=http://a/v1", "hi"],
    ["--mcp", "a", "--mcp", "b", "hi"],
    ["--mcp=a", "hi", "--mcp", "b"],
    ["-m", "a", "-m", "b", "hi"],
    ["--", "-hi"],
    ["--json", "--", "--json"],
    ["-c", "-y", "--offline", "--search", "--thinking", "--session", "s", "-s", "x", "hi"],
    ["-p", "tokenhub", "--continue", "--yes", "--verbose", "hi"],
    ["--json", "--json", "hi"],
    ["--system=", "hi"],
]

LEFT_TO_TYPER = [
    [],
    ["hi", "there"],
    ["--temperature", "0.5", "hi"],
    ["--max-steps=3", "hi"],
    ["--usage-file", "u.json", "hi"],
    ["-mx", "hi"],
    ["-cy", "hi"],
    ["-m"],
    ["hi", "-m"],
    ["-m", "-x", "hi"],
    ["--json=1", "hi"],
    ["--unknown", "hi"],
    ["-", "hi"],
    ["--modle", "x", "hi"],
    ["--", "a", "b"],
]


@pytest.mark.parametrize("args", PLAIN, ids=" ".join)
def test_a_plain_line_gets_the_values_typer_gives(args: list[str]) -> None:
    parsed = quick.parse(args)
    assert parsed is not None
    defaults = {n: p.default for n, p in inspect.signature(run_chat).parameters.items()}
    del defaults["checked"]
    assert {**defaults, **parsed} == typer_values(args)


@pytest.mark.parametrize("args", LEFT_TO_TYPER, ids=" ".join)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert quick.parse(args) is None


def test_text_that_is_not_utf8_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not quick.run_quickly(["caf\udce9"])
    monkeypatch.setenv("ALLTOKEN_AGENT_MODEL", "caf\udce9")
    assert not quick.run_quickly(["hi"])


RUN = """
import json, sys
from alltoken_agent.cli import main

sys.argv = ["alltoken-agent", "chat", *json.loads(sys.argv[1])]
try:
    main()
    code = 0
except SystemExit as exit_:
    code = exit_.code
sys.stdout.flush()
loaded = sorted({m.split(".")[0] for m, module in sys.modules.items() if module is not None})
sys.stderr.write("\\n" + json.dumps({"code": code, "typer": "typer" in loaded}) + "\\n")
"""


def run_without_runner(*args: str) -> tuple[dict[str, Any], str, str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    *lines, last = done.stderr.strip().splitlines()
    return json.loads(last), done.stdout, "\n".join(lines).strip()


@pytest.mark.slow
def test_a_plain_chat_runs_without_typer_and_says_what_typer_says(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    args = ("--base-url", sim.base_url, "-m", "gpt-5.4-nano", "--tools", "none", "--json", "hi")
    report, out, _ = run_without_runner(*args)
    assert report == {"code": 0, "typer": False}
    events = [json.loads(line) for line in out.splitlines()]
    through_typer = [json.loads(line) for line in run_cli("chat", *args).stdout.splitlines()]
    assert [e["event"] for e in events] == [e["event"] for e in through_typer]
    assert events[-1]["event"] == "done" and events[-1]["text"] == through_typer[-1]["text"]
    # A failure: the same line and exit code either way.
    bad = ("--provider", "no-such-provider", "hi")
    report, _, err = run_without_runner(*bad)
    typed = run_cli("chat", *bad)
    assert report == {"code": typed.exit_code, "typer": False}
    assert typed.exit_code == 2 and err == typed.stderr.strip()

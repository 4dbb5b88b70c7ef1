"""What ``import alltoken_agent.gateway``, the agent and a ``chat`` run load.

Each check runs in a fresh interpreter: this test process has imported everything
already, so only a new one shows what an import pulls in. The times are measured by
bench/import_time.py, never asserted here.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import alltoken_agent.agent
from alltoken_agent.agent import builtin_tools
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
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def modules_after(module: str) -> set[str]:
    """The modules a fresh interpreter holds after ``import module``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def top_level_modules(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after ``import module``."""
    return {name.split(".")[0] for name in modules_after(module)}


@pytest.mark.parametrize("module", ["alltoken_agent.gateway", "alltoken_agent.agent.agent"])
def test_the_core_imports_nothing_heavy(module: str) -> None:
    loaded = top_level_modules(module)
    assert "alltoken_agent" in loaded and "httpx" in loaded  # the probe did import it
    assert sorted(loaded & {*NEVER, *FRONT_ENDS}) == []


def test_the_agent_package_loads_its_modules_on_first_use() -> None:
    # `import alltoken_agent.agent` (or one of its modules) is not the whole agent.
    loaded = modules_after("alltoken_agent.agent")
    assert {"alltoken_agent.agent", "alltoken_agent.errors"} <= loaded
    assert sorted(m for m in loaded if m.startswith("alltoken_agent.agent.")) == []
    assert sorted(loaded & {"httpx", "pydantic", "asyncio"}) == []
    # The agent itself loads neither the MCP client nor the tools' clock and calculator.
    loaded = modules_after("alltoken_agent.agent.agent")
    assert sorted(loaded & set(DEFERRED)) == []


def test_the_model_choices_requirements_load_without_the_gateway() -> None:
    # A turn builds `Requirements` before its request; the catalog's entry types (and the
    # gateway, httpx, pydantic) come with the catalog, when an auto: model asks for it.
    loaded = modules_after("alltoken_agent.catalog.choice")
    assert "alltoken_agent.catalog.choice" in loaded
    assert sorted(m for m in loaded if m.startswith("alltoken_agent.gateway")) == []
    assert sorted(loaded & {"httpx", "pydantic"}) == []


def lazy_table_checked(package: types.ModuleType) -> dict[str, str]:
    """``package``'s lazy table, checked against its TYPE_CHECKING imports; returned."""
    # The TYPE_CHECKING imports of its __init__.py, (module, name) pairs ...
    tree = ast.parse(Path(package.__file__ or "").read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If))
    declared = {
        (statement.module, alias.name)
        for statement in block.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    # ... are the names the interpreter loads on first use, each from where it is defined.
    table: dict[str, str] = package._SOURCE
    assert declared == {(module, name) for name, module in table.items()}
    for name, module in table.items():
        value = getattr(package, name)
        assert value is getattr(importlib.import_module(module), name), name
    return table


def test_the_agent_packages_lazy_table_is_what_type_checkers_read() -> None:
    table = lazy_table_checked(alltoken_agent.agent)
    assert set(alltoken_agent.agent.__all__) <= set(table)
    with pytest.raises(AttributeError, match="NoSuchThing"):
        alltoken_agent.agent.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_a_builtin_tool_is_built_once_on_first_use() -> None:
    # A fresh interpreter: importing the module builds no tool (no pydantic model, so no
    # plugin scan); naming one builds that one only.
    probe = (
        "import sys\n"
        "from alltoken_agent.agent import builtin_tools as b\n"
        "names = ('calculate', 'get_current_time', 'web_search')\n"
        "before = sorted(n for n in names if n in vars(b))\n"
        "plugins = 'pydantic.plugin._loader' in sys.modules\n"
        "listed = {*names, 'BUILTIN_TOOLS'} <= set(dir(b))\n"
        "tools = b.resolve_tool_names('calculate')\n"
        "after = sorted(n for n in names if n in vars(b))\n"
        "print(before, plugins, listed, after, tools[0] is b.calculate)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "False", "True", "['calculate']", "True"]
    # In this process: one instance each, whichever way it is reached.
    from alltoken_agent import calculate
    from alltoken_agent.agent.builtin_tools import web_search

    assert builtin_tools.BUILTIN_TOOLS["calculate"] is calculate is builtin_tools.calculate
    assert builtin_tools.BUILTIN_TOOLS["web_search"] is web_search
    assert builtin_tools.resolve_tool_names("default") == [
        builtin_tools.get_current_time,
        calculate,
    ]
    with pytest.raises(AttributeError, match="no_such_tool"):
        builtin_tools.no_such_tool  # type: ignore[attr-defined]  # noqa: B018


CHAT_RUN = """
import json, logging, sys
from alltoken_agent.cli import main

HEAVY = {heavy!r}
DEFERRED = {deferred!r}
seen = {{}}


def loaded():
    return sorted({{m.split(".")[0] for m, module in sys.modules.items() if module is not None}})


def note(event, args):
    if event == "socket.connect" and "connect" not in seen:
        # What was loaded first: importing Config below loads pydantic.
        deferred = sorted(DEFERRED & {{m for m, v in sys.modules.items() if v is not None}})
        from alltoken_agent.config import Config

        validator = type(Config.__pydantic_validator__).__name__
        seen["connect"] = {{
            "heavy": sorted(HEAVY & set(loaded())), "config": validator, "deferred": deferred
        }}


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
DEFERRED = (
    "alltoken_agent.catalog.choice",
    "alltoken_agent.mcp_wire.servers",
    "alltoken_agent.agent.mcp_client",
    "alltoken_agent.mcp_wire.connection",
    "alltoken_agent.agent.clock",
    "alltoken_agent.agent.calculator",
    "alltoken_agent.agent.factory",
    "shlex",
    "difflib",
)
"""Modules the agent loads when used (an ``auto:`` model, MCP servers, a tool call, a
misspelt setting's hint), not when imported, nor before ``chat --tools none`` sends its
request (full names)."""
CHAT_DEFERRED = (
    *DEFERRED,
    "alltoken_agent.gateway.catalog_types",
    "alltoken_agent.catalog.service",
    "importlib.metadata",
    "httpcore",
    "anyio",
    "sniffio",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
)
"""Nor before ``chat --tools none``'s request: the catalog (no price lookup first),
pydantic's plugin scan, which the first validator built would run (none is built), and
httpx's own transport (httpcore, and anyio's locks it takes under asyncio): chat's
requests go on gateway/_asyncio_transport.py; nor pydantic itself: a config file of plain
values is read without it (alltoken_agent._config_plain) and the key is a SecretKey; nor
typing_extensions, whose TypeVar defaults only type checkers read (agent/_blocking.py)."""


def chat_run(*args: str) -> dict[str, Any]:
    """What a fresh ``alltoken-agent chat ARGS`` process held at its request and at exit."""
    code = CHAT_RUN.format(heavy=set(CHAT_NEVER), deferred=set(CHAT_DEFERRED))
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
        # validators (nor any other), no MCP client, no built-in tools' modules, no catalog.
        assert run["connect"] == {"heavy": [], "config": "MockValSer", "deferred": []}, run[
            "stderr"
        ]
        # ... and after it: the ledger row went in without SQLAlchemy.
        assert run["end"] == [], run["stderr"]
    report = json.loads(run_cli("usage", "--json").stdout)
    assert report["totals"]["requests"] == 2 and report["totals"]["cost"] is not None


def test_chat_with_the_default_tools_builds_no_validator_before_its_request(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain `chat PROMPT` sends the clock's and the calculator's schemas: written out in
    # builtin_tools, so no pydantic model (nor its plugin scan) is built to describe them.
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    run = chat_run("--base-url", sim.base_url, "hi")
    assert run["code"] == 0, run["stderr"]
    assert run["connect"] == {"heavy": [], "config": "MockValSer", "deferred": []}, run["stderr"]


def test_a_plain_chat_sends_its_request_before_importing_pydantic(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    home = Path(os.environ["ALLTOKEN_AGENT_HOME"])
    write_config(
        home,
        'model = "gpt-5.4-nano"\nfallbacks = ["deepseek-v4-flash"]\n'
        "[retry]\nmax_retries = 1\n[http]\nmax_connections = 4\n"
        '[families.deepseek]\nsearch = "native"\n[context]\nlengths = { "x" = 1000 }\n'
        '[providers.alltoken]\nheaders = { "X-Team" = "a" }\n',
    )
    run = chat_run("--base-url", sim.base_url, "hi")
    assert run["code"] == 0, run["stderr"]
    assert run["connect"]["deferred"] == [], run["stderr"]


def test_a_config_the_plain_reader_cannot_decide_goes_through_pydantic(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A price is a Decimal: only the schema converts it, so pydantic loads before the
    # request, and the run is the same.
    monkeypatch.setenv("ALLTOKEN_API_KEY", TEST_KEY)
    home = Path(os.environ["ALLTOKEN_AGENT_HOME"])
    write_config(home, '[prices."gpt-5.4-nano"]\ninput_per_1k = "0.001"\n')
    run = chat_run("--base-url", sim.base_url, "-m", "gpt-5.4-nano", "--tools", "none", "hi")
    assert run["code"] == 0, run["stderr"]
    assert {"pydantic", "pydantic_core"} <= set(run["connect"]["deferred"]), run["stderr"]


def test_the_catalog_loads_without_pydantic() -> None:
    # A long `chat --session` asks the catalog for the model's context length before
    # its request; the catalog names a config model only in annotations.
    code = (
        "import sys\n"
        "from alltoken_agent.catalog import Catalog\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_context_window_is_read_from_the_cache_without_the_catalog_service() -> None:
    # A long `chat --session` reads its model's window before the request: the service
    # and its typed entries would add about 20 ms to its start.
    loaded = modules_after("alltoken_agent.catalog.lengths")
    assert not {"alltoken_agent.catalog.service", "alltoken_agent.gateway.catalog_types"} & loaded


@pytest.mark.parametrize("module", ["alltoken_agent.gateway", "alltoken_agent.media"])
def test_httpx_is_imported_without_its_command_line_client(module: str) -> None:
    # Typer needs click and rich, so they are always installed beside us, and httpx
    # imports its own command-line client (with pygments) whenever they are: about a
    # third of its import time, for a client nothing here runs.
    loaded = top_level_modules(module)
    assert "httpx" in loaded
    assert not loaded & {"click", "rich", "pygments"}


def test_httpx_s_command_line_client_still_imports_after_ours() -> None:
    probe = "import alltoken_agent.gateway, httpx._main, sys; print('click' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"  # the real client, with its click


@pytest.mark.parametrize(
    "opened",
    [
        "from alltoken_agent.gateway import Gateway; Gateway(api_key='k')",
        "from alltoken_agent import Agent, Gateway; Agent('m', gateway=Gateway(api_key='k'))",
    ],
)
def test_a_gateway_or_agent_given_no_config_imports_no_pydantic(opened: str) -> None:
    # Their defaults are plain values: pydantic's import (~60 ms) waits for a config
    # somebody gave, a tool's own arguments or a structured output.
    probe = f"import sys; {opened}; print('pydantic' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

"""MCP servers as tools: a real MCP server (tests/agent/mcp_fixture_server.py, written with
the SDK) over stdio (a subprocess) and streamable HTTP (uvicorn in a thread on loopback),
reached through the SDK client, and an agent using its tools against the simulator."""

from __future__ import annotations

import asyncio
import inspect
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Agent, ConfigError, UserError, calculate, get_current_time
from alltoken_agent.agent.mcp_client import (
    MCPTools,
    MCPToolset,
    exposed_name,
    open_mcp_tools,
    render_result,
)
from alltoken_agent.config import Config, MCPServerSettings, load_config
from alltoken_agent.mcp_wire.servers import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_LIST_TIMEOUT,
    DEFAULT_STARTUP_TIMEOUT,
    MCPServer,
    MCPServerError,
    servers_from_config,
)
from tests.agent import mcp_fixture_server
from tests.cli.helpers import ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY, gateway_for

FIXTURE = str(Path(mcp_fixture_server.__file__).resolve())

needs_agent_wiring = pytest.mark.skipif(
    "mcp_servers" not in inspect.signature(Agent.__init__).parameters,
    reason="Agent(mcp_servers=...) is not wired into agent.py yet",
)


def stdio(name: str = "fixture", *args: str, **settings: Any) -> MCPServer:
    return MCPServer(name, command=sys.executable, args=[FIXTURE, *args], **settings)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """The fixture server on streamable HTTP, on a free loopback port, for this module."""
    from alltoken_agent.mcp import serve_http

    found: list[str] = []
    ready = threading.Event()
    control: dict[str, Any] = {}

    async def main() -> None:
        control["loop"], control["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await serve_http(
            mcp_fixture_server.build(),
            port=0,
            on_ready=lambda url: (found.append(url), ready.set()),
            stop=control["stop"],
        )

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(15), "the fixture MCP server did not start"
    yield found[0]
    control["loop"].call_soon_threadsafe(control["stop"].set)
    thread.join(15)
    assert not thread.is_alive()


_gateways: list[Any] = []


def agent_on(sim: Any, **kwargs: Any) -> Agent:
    gateway = gateway_for(sim)
    _gateways.append(gateway)
    return Agent(gateway=gateway, **kwargs)


@pytest.fixture(autouse=True)
async def close_gateways() -> Any:
    yield
    while _gateways:
        await _gateways.pop().aclose()


def offered_tools(sim: Any) -> list[dict[str, Any]]:
    [first, *_] = [r.json for r in sim.state.requests if r.path.endswith("/chat/completions")]
    return [t["function"] for t in first["tools"]]


# -- listing and calling -----------------------------------------------------------


@pytest.mark.slow
async def test_stdio_tools_are_listed_with_their_schemas() -> None:
    async with MCPToolset(stdio()) as toolset:
        tools = {tool.name: tool for tool in await toolset.tools()}
        again = await toolset.tools()
    assert list(tools) == [
        "add",
        "echo",
        "fail",
        "slow",
        "calculate",
        "picture",
        "environment",
        "header",
        "grow",
    ]
    add = tools["add"]
    assert add.description == "Add two integers."
    assert add.parameters["type"] == "object"
    assert add.parameters["properties"]["a"]["type"] == "integer"
    assert add.parameters["required"] == ["a", "b"]
    assert add.timeout is None  # call_timeout applies, in the server's own words
    assert [t is tools[t.name] for t in again] == [True] * len(again)  # cached


async def test_http_tools_are_listed_and_called_with_the_configured_headers(
    http_url: str,
) -> None:
    server = MCPServer("web", url=http_url, headers={"X-Fixture": "sesame"})
    async with MCPToolset(server) as toolset:
        tools = {tool.name: tool for tool in await toolset.tools()}
        assert "add" in tools and "slow" in tools
        assert await toolset.call_tool("add", {"a": 2, "b": 3}) == "5"
        assert await toolset.call_tool("header", {"name": "X-Fixture"}) == "sesame"
    assert "sesame" not in repr(server)


@pytest.mark.slow
async def test_stdio_servers_get_env_and_the_named_variables_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIXTURE_TOKEN", "t0ken")
    monkeypatch.setenv("FIXTURE_OTHER", "not passed")
    server = stdio(env={"FIXTURE_MODE": "test"}, env_vars=["FIXTURE_TOKEN", "FIXTURE_UNSET"])
    async with MCPToolset(server) as toolset:
        got = [
            await toolset.call_tool("environment", {"name": name})
            for name in ("FIXTURE_MODE", "FIXTURE_TOKEN", "FIXTURE_OTHER", "PATH")
        ]
    assert got[:3] == ["test", "t0ken", ""] and got[3]


@pytest.mark.slow
async def test_a_tool_list_change_is_noticed_and_listed_again() -> None:
    async with MCPToolset(stdio()) as toolset:
        before = await toolset.tools()
        assert "extra" not in {t.name for t in before}
        assert await toolset.call_tool("grow", {}) == "grown"
        for _ in range(200):
            names = {t.name for t in await toolset.tools()}
            if "extra" in names:
                break
            await asyncio.sleep(0.01)
        assert "extra" in names
        assert await toolset.call_tool("extra", {}) == "extra answer"


# -- an agent using MCP tools ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_agent_calls_an_mcp_tool_and_quotes_its_result(
    sim: Any, request: pytest.FixtureRequest, transport: str
) -> None:
    server = (
        stdio()
        if transport == "stdio"
        else MCPServer("web", url=request.getfixturevalue("http_url"))
    )
    async with open_mcp_tools([server], reserved=["calculate"]) as tools:
        agent = agent_on(sim, tools=[calculate, *tools])
        result = await agent.run('[[call add {"a": 2, "b": 3}]]')
    [call] = result.tool_calls
    assert (call.name, call.arguments, call.result, call.is_error) == (
        "add",
        {"a": 2, "b": 3},
        "5",
        False,
    )
    assert "5" in result.text and result.stop_reason == "stop"
    add = next(f for f in offered_tools(sim) if f["name"] == "add")
    assert add["description"] == "Add two integers."
    assert add["parameters"]["properties"]["b"]["type"] == "integer"


@pytest.mark.slow
async def test_a_clashing_mcp_tool_gets_the_server_prefix(sim: Any) -> None:
    async with open_mcp_tools([stdio("fx")], reserved=["calculate"]) as tools:
        agent = agent_on(sim, tools=[calculate, *tools])
        result = await agent.run(
            '[[call calculate {"expression": "6*7"}]] [[call fx__calculate {"expression": "6*7"}]]'
        )
    assert [(c.name, c.result) for c in result.tool_calls] == [
        ("calculate", '{"expression": "6*7", "result": 42}'),
        ("fx__calculate", "fixture calculated 6*7"),
    ]
    names = [f["name"] for f in offered_tools(sim)]
    assert names.count("calculate") == 1 and "fx__calculate" in names


@pytest.mark.slow
async def test_tool_errors_and_call_timeouts_are_error_results_and_the_loop_goes_on(
    sim: Any,
) -> None:
    async with open_mcp_tools([stdio(call_timeout=0.5)]) as tools:
        agent = agent_on(sim, tools=tools)
        result = await agent.run(
            '[[call fail {}]] [[call slow {"seconds": 10}]] [[then]] [[call add {"a": 1, "b": 1}]]'
        )
    fail, slow, add = result.tool_calls
    assert fail.is_error and fail.result.startswith("Error: ")
    assert "the fixture tool failed on purpose" in fail.result
    assert slow.is_error and "did not answer within 0.5 s (its call_timeout)" in slow.result
    assert (add.result, add.is_error) == ("2", False)
    assert result.stop_reason == "stop" and result.steps == 3


@pytest.mark.slow
async def test_mcp_results_are_text_and_images_are_summarised() -> None:
    from mcp.types import (
        BlobResourceContents,
        CallToolResult,
        EmbeddedResource,
        ImageContent,
        TextContent,
        TextResourceContents,
    )

    async with MCPToolset(stdio()) as toolset:
        assert await toolset.call_tool("picture", {}) == "[image: image/png, 70 bytes, not shown]"
    assert render_result(CallToolResult(content=[], structured_content={"n": 1})) == '{"n": 1}'
    mixed = CallToolResult(
        content=[
            TextContent(text="see"),
            ImageContent(data="AAAA", mime_type="image/gif"),
            EmbeddedResource(resource=TextResourceContents(uri="file:///a", text="inside")),
            EmbeddedResource(resource=BlobResourceContents(uri="file:///b", blob="AAAA")),
        ],
        structured_content={"ignored": "text wins"},
    )
    assert render_result(mixed).split("\n\n") == [
        "see",
        "[image: image/gif, 3 bytes, not shown]",
        "inside",
        "[resource file:///b: application/octet-stream, 3 bytes, not shown]",
    ]
    assert exposed_name("files.read", "fs", set()) == "files_read"
    assert exposed_name("read", "fs", {"read"}) == "fs__read"
    assert exposed_name("read", "fs", {"read", "fs__read"}) is None


@pytest.mark.slow
@needs_agent_wiring
async def test_an_agent_with_mcp_servers_starts_them_on_its_first_run(sim: Any) -> None:
    agent = agent_on(sim, tools=[get_current_time], mcp_servers=[stdio()])
    first = await agent.run('[[call add {"a": 2, "b": 3}]]')
    second = await agent.run('[[call echo {"text": "again"}]]')
    await agent.aclose()
    assert first.tool_calls[0].result == "5" and "5" in first.text
    assert second.tool_calls[0].result == "again"
    assert "add" in {f["name"] for f in offered_tools(sim)}


# -- servers that do not start --------------------------------------------------------


@pytest.mark.slow
async def test_a_server_that_exits_at_start_is_reported_with_its_stderr_tail() -> None:
    with pytest.raises(MCPServerError) as caught:
        await MCPTools([stdio("broken", "--crash")]).tools()
    error = caught.value
    assert isinstance(error, ConfigError) and error.server == "broken"
    message = str(error)
    assert (
        message.startswith("MCP server 'broken' (") and "exited before the MCP handshake" in message
    )
    assert len(error.stderr_tail) == 20
    assert error.stderr_tail[0] == "fixture stderr line 12"
    assert error.stderr_tail[-1] == "ModuleNotFoundError: No module named 'fixture_dependency'"
    assert "fixture stderr line 11\n" not in message and "  | fixture stderr line 30" in message


async def test_a_missing_command_names_the_server_and_the_command() -> None:
    expected = (
        r"MCP server 'ghost' \(/nonexistent/mcp-server\) could not be started: "
        r"FileNotFoundError: .*; check its command"
    )
    with pytest.raises(MCPServerError, match=expected):
        async with MCPTools([MCPServer("ghost", command="/nonexistent/mcp-server")]):
            pass


async def test_a_server_that_never_answers_times_out_naming_the_setting() -> None:
    silent = MCPServer(
        "mute",
        command=sys.executable,
        args=["-c", "import sys; sys.stdin.read()"],
        startup_timeout=0.3,
    )
    with pytest.raises(MCPServerError, match=r"within 0.3 s \(its startup_timeout\)"):
        await MCPTools([silent]).tools()


async def test_an_unreachable_url_names_the_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = MCPServer("web", url=f"http://user:pw@127.0.0.1:{port}/mcp?key=secret")
    with pytest.raises(MCPServerError, match="could not be reached") as caught:
        await MCPTools([server]).tools()
    assert f"MCP server 'web' (http://127.0.0.1:{port}/mcp)" in str(caught.value)
    assert "secret" not in str(caught.value) and "pw" not in str(caught.value)


def test_without_the_sdk_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(ConfigError, match=r"pip install 'alltoken-agent\[mcp\]'"):
        asyncio.run(MCPTools([stdio()]).tools())


@pytest.mark.slow
def test_the_core_does_not_import_the_sdk() -> None:
    code = "import sys, alltoken_agent.agent.mcp_client; assert 'mcp' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- config and command line ----------------------------------------------------------


def test_config_declares_stdio_and_http_servers(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[mcp_servers.files]\ncommand = "npx"\nargs = ["-y", "fs"]\n'
        'env = {TOKEN = "s3cret"}\nenv_vars = ["HOME"]\ncall_timeout = 300\n'
        '[mcp_servers.web]\nurl = "https://mcp.example.com/mcp"\n'
        'headers = {Authorization = "Bearer s3cret"}\nprefix = "w"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert "s3cret" not in repr(config)
    files, web = servers_from_config(config, ["files", "web", "files"])
    assert (files.command, files.args, files.env, files.env_vars) == (
        "npx",
        ("-y", "fs"),
        {"TOKEN": "s3cret"},
        ("HOME",),
    )
    assert (files.call_timeout, files.startup_timeout, files.list_timeout) == (
        300,
        DEFAULT_STARTUP_TIMEOUT,
        DEFAULT_LIST_TIMEOUT,
    )
    assert (web.transport, web.headers, web.prefix) == (
        "http",
        {"Authorization": "Bearer s3cret"},
        "w",
    )
    assert "s3cret" not in repr(files) + repr(web)
    defaults = MCPServerSettings(command="x")
    assert (defaults.startup_timeout, defaults.call_timeout, defaults.list_timeout) == (
        DEFAULT_STARTUP_TIMEOUT,
        DEFAULT_CALL_TIMEOUT,
        DEFAULT_LIST_TIMEOUT,
    )


@pytest.mark.parametrize(
    "table",
    [
        'command = "x"\nurl = "http://h/mcp"',
        'args = ["a"]',
        'url = "http://h/mcp"\nenv = {A = "b"}',
        'command = "x"\nheaders = {A = "b"}',
        'command = "x"\nstartup_timeout = 0',
        'command = "x"\ncomand = "typo"',
        'url = "ftp://h/mcp"',
    ],
)
def test_config_rejects_a_bad_server_table(tmp_path: Path, table: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[mcp_servers.bad]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mcp_servers\.bad"):
        load_config(path)


def test_an_unknown_server_name_lists_the_configured_ones() -> None:
    config = Config(mcp_servers={"files": MCPServerSettings(command="x")})
    with pytest.raises(UserError, match=r"unknown MCP server 'nope'; configured: files"):
        servers_from_config(config, ["files", "nope"])
    with pytest.raises(UserError, match="configured: none"):
        servers_from_config(Config(), ["nope"])


def _configure_fixture(home: Path) -> None:
    write_config(
        home, f"[mcp_servers.fixture]\ncommand = {sys.executable!r}\nargs = [{FIXTURE!r}]\n"
    )


@pytest.mark.slow
@needs_agent_wiring
def test_chat_mcp_uses_the_configured_server_end_to_end(
    sim: Any, isolated_environment: Path
) -> None:
    _configure_fixture(isolated_environment)
    result = run_cli(
        "chat",
        "--base-url",
        sim.base_url,
        "--mcp",
        "fixture",
        "--json",
        '[[call add {"a": 2, "b": 3}]]',
        env={"ALLTOKEN_API_KEY": TEST_KEY},
    )
    assert result.exit_code == 0, result.stderr
    events = ndjson(result.stdout)
    [tool_result] = [e for e in events if e.get("event") == "tool:result"]
    assert tool_result["result"] == "5" and not tool_result["is_error"]
    assert "5" in events[-1]["text"]
    assert "add" in {f["name"] for f in offered_tools(sim)}


@pytest.mark.parametrize("command", ["chat", "tui"])
def test_an_unknown_mcp_name_exits_2_listing_the_configured_servers(
    isolated_environment: Path, command: str
) -> None:
    _configure_fixture(isolated_environment)
    args = [command, "--offline", "--mcp", "fixture", "--mcp", "nope"]
    result = run_cli(*args, *(["hi"] if command == "chat" else []))
    assert result.exit_code == 2
    assert "unknown MCP server 'nope'; configured: fixture" in result.stderr


@pytest.mark.slow
async def test_the_tui_offers_mcp_tools_the_way_tui_mcp_builds_it(sim: Any, tmp_path: Path) -> None:
    from alltoken_agent.agent import resolve_tool_names
    from alltoken_agent.tui import make_app
    from alltoken_agent.tui.widgets import ToolPanel
    from tests.tui.helpers import send

    builtin = resolve_tool_names("default")
    async with open_mcp_tools([stdio()], reserved=[t.name for t in builtin]) as tools:
        app = make_app(
            gateway_for(sim), tools=[*builtin, *tools], workdir=tmp_path, close_gateway=True
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await send(pilot, '[[call add {"a": 2, "b": 3}]]')
            [panel] = app.query(ToolPanel)
            assert (panel.tool_name, panel.result, panel.is_error) == ("add", "5", False)

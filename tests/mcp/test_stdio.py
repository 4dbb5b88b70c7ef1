"""`alltoken-agent mcp --offline` over stdio, driven by the SDK's own stdio client.

The server is a real subprocess (`python -m alltoken_agent mcp --offline`) with no API
key in its environment and its data folder in the test's home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult

from alltoken_agent.store import Store
from tests.mcp.expectations import check_tool_listing, text_of

pytestmark = pytest.mark.slow

KEY_VARS = ("ALLTOKEN_API_KEY", "TOKENHUB_API_KEY", "OPENAI_API_KEY")


@asynccontextmanager
async def stdio_session(home: Path) -> AsyncIterator[ClientSession]:
    """The server as a subprocess with no API key, and an initialised SDK client session.

    A context manager rather than a fixture: the SDK's task groups must be entered and
    left in the same task, which an async-generator fixture does not guarantee.
    """
    assert not any(name in os.environ for name in KEY_VARS)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "alltoken_agent", "mcp", "--offline"],
        env={"ALLTOKEN_AGENT_HOME": str(home)},
        cwd=str(home),
    )
    with open(home / "server-stderr.log", "w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                yield client


async def test_lists_tools_and_chat_keeps_a_session_history(isolated_environment: Path) -> None:
    async with stdio_session(isolated_environment) as session:
        check_tool_listing((await session.list_tools()).tools)
        first, second = await _two_turns(session)
    assert first.structured_content is not None and second.structured_content is not None
    assert "[simulated minimax-m2.7]" in text_of(first)
    assert first.structured_content["session_messages"] == 2
    assert first.structured_content["request_id"]
    assert second.structured_content["session_messages"] == 4
    # The second request carried the first turn: more prompt tokens for a similar message.
    assert (
        second.structured_content["usage"]["prompt_tokens"]
        > first.structured_content["usage"]["prompt_tokens"]
    )
    with Store() as store:
        record = store.sessions.find_session("intro")
        assert record is not None
        messages = store.sessions.load_messages(record.id)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "My name is Ada."
    stderr = (isolated_environment / "server-stderr.log").read_text(encoding="utf-8")
    assert "Traceback" not in stderr


async def _two_turns(session: ClientSession) -> tuple[CallToolResult, CallToolResult]:
    first = await session.call_tool("chat", {"prompt": "My name is Ada.", "session": "intro"})
    second = await session.call_tool("chat", {"prompt": "What is my name?", "session": "intro"})
    assert not first.is_error and not second.is_error
    return first, second


async def test_errors_models_and_usage(isolated_environment: Path) -> None:
    async with stdio_session(isolated_environment) as session:
        await _unknown_model_is_a_tool_error_with_the_gateway_code(session)
        await _list_models_and_usage_answer(session)
        await _bad_arguments_are_tool_errors(session)


async def _unknown_model_is_a_tool_error_with_the_gateway_code(session: ClientSession) -> None:
    result = await session.call_tool("chat", {"prompt": "hi", "model": "no-such-model"})
    assert result.is_error
    text = text_of(result)
    assert "upstream_model_not_found" in text and "request_id=" in text
    assert result.structured_content is not None
    error = result.structured_content["error"]
    assert error["code"] == "upstream_model_not_found"
    assert error["status"] == 404 and error["request_id"]


async def _list_models_and_usage_answer(session: ClientSession) -> None:
    models = await session.call_tool("list_models", {"modality": "text"})
    assert not models.is_error and models.structured_content is not None
    ids = [m["id"] for m in models.structured_content["models"]]
    assert ids and all(m["modality"] == "text" for m in models.structured_content["models"])
    assert models.structured_content["default_model"] == "minimax-m2.7"
    assert models.structured_content["simulated"] is True  # `mcp --offline`

    await session.call_tool("chat", {"prompt": "count me", "session": "billing"})
    usage = await session.call_tool("usage", {"since": "1h", "by": "session"})
    assert not usage.is_error and usage.structured_content is not None
    rows = {row["key"]: row for row in usage.structured_content["rows"]}
    assert rows["billing"]["requests"] == 1
    assert rows["billing"]["cost"].startswith("0.")


async def _bad_arguments_are_tool_errors(session: ClientSession) -> None:
    missing = await session.call_tool("chat", {})
    assert missing.is_error and "prompt" in text_of(missing)
    bad_since = await session.call_tool("usage", {"since": "yesterday-ish"})
    assert bad_since.is_error
    assert bad_since.structured_content == {
        "error": {
            "code": "invalid_input",
            "message": bad_since.structured_content["error"]["message"],
            "type": "UserError",
        }
    }


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-lines", "version": "1"},
    },
}


def _raw_exchange(home: Path, lines: list[bytes], last_id: int) -> list[dict[str, Any]]:
    """Write ``lines`` to a real `mcp --offline` process and read replies up to ``last_id``.

    Raw bytes rather than the SDK client, which never sends a malformed line. Stdin stays
    open until the reply to ``last_id`` (a request sent last) is in: at end of input the
    SDK stops without answering requests still in flight. A watchdog kills a server that
    never answers, so the test fails instead of hanging.
    """
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env["ALLTOKEN_AGENT_HOME"] = str(home)
    replies: list[dict[str, Any]] = []
    with subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "mcp", "--offline"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(home),
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        watchdog = threading.Timer(120, process.kill)
        watchdog.start()
        try:
            process.stdin.write(b"".join(line + b"\n" for line in lines))
            process.stdin.flush()
            for raw in process.stdout:
                replies.append(json.loads(raw))
                if replies[-1].get("id") == last_id:
                    break
            process.stdin.close()
            stderr = process.stderr.read()
            process.wait()
        finally:
            watchdog.cancel()
    assert replies and replies[-1].get("id") == last_id, "the server stopped answering"
    assert process.returncode == 0, stderr.decode(errors="replace")
    assert b"Traceback" not in stderr
    return replies


def _message(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_malformed_lines_get_their_json_rpc_errors(isolated_environment: Path) -> None:
    replies = _raw_exchange(
        isolated_environment,
        [
            b"{bad json",
            _message(INITIALIZE),
            _message({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            _message({"id": 3}),  # no jsonrpc, no method
            _message({"jsonrpc": "1.0", "id": "four", "method": "tools/list"}),
            b"[]",
            b"42",
            b"caf\xe9",  # not UTF-8, not JSON
            b"",  # a blank line is no message and gets no reply
            # Requests whose id MCP does not allow: the SDK alone takes them for notifications.
            _message({"jsonrpc": "2.0", "id": None, "method": "ping"}),
            _message({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
            _message({"jsonrpc": "2.0", "id": True, "method": "ping"}),
            _message({"jsonrpc": "2.0", "id": 7, "method": "no/such/method"}),
            _message({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}),
        ],
        last_id=8,
    )
    errors = [(r["id"], r["error"]["code"]) for r in replies if "error" in r]
    assert errors == [
        (None, -32700),
        (3, -32600),
        ("four", -32600),
        (None, -32600),
        (None, -32600),
        (None, -32700),
        (None, -32600),
        (None, -32600),
        (None, -32600),
        (7, -32601),
    ]
    assert all(r["jsonrpc"] == "2.0" and "result" not in r for r in replies if "error" in r)
    results = {r["id"]: r["result"] for r in replies if "result" in r}
    assert set(results) == {1, 8}  # the server keeps serving after every bad line
    assert results[8]["tools"]


def test_a_malformed_response_from_the_client_gets_no_reply(isolated_environment: Path) -> None:
    """Answering a bad response with an error could make two peers ping-pong errors."""
    replies = _raw_exchange(
        isolated_environment,
        [
            _message(INITIALIZE),
            _message({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            _message({"jsonrpc": "2.0", "id": "x", "result": 1, "error": {}}),
            _message({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        ],
        last_id=2,
    )
    assert [r["id"] for r in replies] == [1, 2]
    assert all("error" not in r for r in replies)

"""The MCP server over streamable HTTP on loopback, driven by the SDK's own client.

The server is built by the factory, as the CLI builds it, and serves in a background
thread; the gateway behind it talks to the simulator, whose request log shows what
went out on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp.client.client import Client

from alltoken_agent import Gateway
from alltoken_agent.store import Store
from tests.gateway.helpers import TEST_KEY, gateway_for
from tests.mcp.expectations import check_tool_listing, text_of
from tests.mcp.helpers import RunningServer, serve_in_thread


@pytest.fixture
def offline_server() -> Iterator[RunningServer]:
    with serve_in_thread(Gateway.offline) as running:
        yield running


def _chat_requests(running: RunningServer) -> list[Any]:
    assert running.gateway is not None and running.gateway.offline_simulator is not None
    requests = running.gateway.offline_simulator.state.requests
    return [r for r in requests if r.path.endswith("/chat/completions")]


async def test_lists_the_tools_with_their_schemas(offline_server: RunningServer) -> None:
    assert offline_server.url.startswith("http://127.0.0.1:") and offline_server.url.endswith(
        "/mcp"
    )
    async with Client(offline_server.url) as client:
        check_tool_listing((await client.list_tools()).tools)


@pytest.mark.slow
async def test_chat_session_sends_the_history_on_the_wire(
    offline_server: RunningServer,
) -> None:
    async with Client(offline_server.url) as client:
        first = await client.call_tool("chat", {"prompt": "Remember: blue.", "session": "trip"})
        second = await client.call_tool("chat", {"prompt": "Which colour?", "session": "trip"})
        alone = await client.call_tool("chat", {"prompt": "Which colour?"})
    assert not (first.is_error or second.is_error or alone.is_error)
    assert second.structured_content is not None
    assert second.structured_content["session"] == "trip"
    assert second.structured_content["session_messages"] == 4

    sent = [[m["content"] for m in r.json["messages"]] for r in _chat_requests(offline_server)]
    first_reply = text_of(first)
    assert sent[1][1:] == ["Remember: blue.", first_reply, "Which colour?"]
    assert sent[2][1:] == ["Which colour?"]  # no session, no history

    with Store() as store:
        record = store.sessions.find_session("trip")
        assert record is not None and record.message_count == 4 and record.model == "minimax-m2.7"


@pytest.mark.slow
async def test_chat_with_a_model_and_system_prompt(offline_server: RunningServer) -> None:
    async with Client(offline_server.url) as client:
        result = await client.call_tool(
            "chat", {"prompt": "hi", "model": "deepseek-v4-flash", "system": "Be terse."}
        )
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["model"] == "deepseek-v4-flash"
    body = _chat_requests(offline_server)[-1].json
    assert body["model"] == "deepseek-v4-flash"
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


async def test_errors_are_tool_errors_with_the_gateway_code(offline_server: RunningServer) -> None:
    async with Client(offline_server.url) as client:
        result = await client.call_tool("chat", {"prompt": "hi", "model": "no-such-model"})
    assert result.is_error
    assert "upstream_model_not_found" in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "upstream_model_not_found"


@pytest.mark.slow
async def test_list_models_and_usage(offline_server: RunningServer) -> None:
    async with Client(offline_server.url) as client:
        models = await client.call_tool("list_models", {})
        await client.call_tool("chat", {"prompt": "one", "session": "s1"})
        await client.call_tool("chat", {"prompt": "two"})
        usage = await client.call_tool("usage", {"by": "model"})
        by_session = await client.call_tool("usage", {"by": "session", "session": "s1"})
    assert not models.is_error and models.structured_content is not None
    ids = {m["id"] for m in models.structured_content["models"]}
    assert {"minimax-m2.7", "deepseek-v4-flash"} <= ids
    assert models.structured_content["provider"] == "alltoken"
    assert models.structured_content["simulated"] is True  # an offline server's own list

    assert not usage.is_error and usage.structured_content is not None
    totals = usage.structured_content["totals"]
    assert totals["requests"] == 2 and totals["unknown_cost_requests"] == 0
    assert usage.structured_content["rows"][0]["key"] == "minimax-m2.7"
    assert "2 requests" in text_of(usage)
    assert by_session.structured_content is not None
    assert [r["key"] for r in by_session.structured_content["rows"]] == ["s1"]


@pytest.mark.slow
async def test_a_leaked_key_never_reaches_the_client(sim: Any) -> None:
    sim.state.enqueue_faults(["leak_key"])
    with serve_in_thread(lambda: gateway_for(sim)) as running:
        async with Client(running.url) as client:
            result = await client.call_tool("chat", {"prompt": "hi"})
    assert result.is_error and result.structured_content is not None
    assert result.structured_content["error"]["status"] == 401
    assert TEST_KEY not in result.model_dump_json()


@pytest.mark.slow
async def test_payment_and_rate_limit_failures_carry_their_status(sim: Any) -> None:
    # The gateway documents no slug for 402 or 429, so SKILL.md tells agents to act on
    # `status`: it must be there, with the gateway's own code passed through unchanged.
    sim.state.enqueue_faults(["402", "429:0", "429:0", "429:0"])
    with serve_in_thread(lambda: gateway_for(sim)) as running:
        async with Client(running.url) as client:
            payment = await client.call_tool("chat", {"prompt": "hi"})
            limited = await client.call_tool("chat", {"prompt": "hi"})
    for result, status, code in ((payment, 402, "insufficient_balance"), (limited, 429, None)):
        assert result.is_error and result.structured_content is not None
        error = result.structured_content["error"]
        assert error["status"] == status and error["request_id"]
        if code is not None:
            assert error["code"] == code and code in text_of(result)
    assert limited.structured_content is not None
    assert limited.structured_content["error"]["attempts"] == 3  # retried, then reported

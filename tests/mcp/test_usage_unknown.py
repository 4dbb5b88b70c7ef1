"""The MCP `usage` and `chat` tools say "unknown" where the cost or usage is, never "$0.00".

A real MCP server over loopback HTTP, driven by the SDK's client; its gateway talks to
the simulator, whose faults leave a reply's usage and cost unknown.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp.client.client import Client

from tests.gateway.helpers import gateway_for
from tests.mcp.expectations import text_of
from tests.mcp.helpers import serve_in_thread

pytestmark = pytest.mark.slow


async def test_usage_says_unknown_for_requests_of_unknown_cost(sim: Any) -> None:
    sim.state.enqueue_faults(["no_usage_done"])
    with serve_in_thread(lambda: gateway_for(sim)) as running:
        async with Client(running.url) as client:
            chat = await client.call_tool("chat", {"prompt": "hi"})
            usage = await client.call_tool("usage", {"by": "model"})
    assert not chat.is_error and chat.structured_content is not None
    assert chat.structured_content["usage"] is None and chat.structured_content["cost"] is None
    assert not usage.is_error and usage.structured_content is not None
    totals = usage.structured_content["totals"]
    assert totals["requests"] == 1 and totals["unknown_cost_requests"] == 1
    assert totals["cost"] is None
    assert totals["prompt_tokens"] is None and totals["unknown_usage_requests"] == 1
    assert usage.structured_content["rows"][0]["cost"] is None
    text = text_of(usage)
    assert "unknown" in text and "$0.00" not in text
    assert "unknown tokens" in text and "0 prompt" not in text


async def test_usage_keeps_the_known_sum_beside_the_unknown_count(sim: Any) -> None:
    sim.state.enqueue_faults(["bad_cost:-1"])
    with serve_in_thread(lambda: gateway_for(sim)) as running:
        async with Client(running.url) as client:
            await client.call_tool("chat", {"prompt": "one"})
            await client.call_tool("chat", {"prompt": "two"})
            usage = await client.call_tool("usage", {"by": "model"})
    assert usage.structured_content is not None
    totals = usage.structured_content["totals"]
    assert totals["requests"] == 2 and totals["unknown_cost_requests"] == 1
    assert totals["cost"] is not None and float(totals["cost"]) > 0  # the valid one only
    text = text_of(usage)
    assert "1 with unknown cost" in text and "-$" not in text

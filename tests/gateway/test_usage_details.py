"""Usage details and the service tier as the skill documents them (docs/wire-format.md §1.4).

The cache write count (`prompt_tokens_details.cache_creation_input_tokens`) and the
top-level `service_tier` come from the simulator over loopback; shapes it never sends
(the Anthropic-style top-level count, a hostile tier) come as exact bytes from
``wire_server.canned_server``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from alltoken_agent import Gateway, Provider
from alltoken_agent.gateway import ChatResult, Usage
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.gateway.wire_server import canned_server, http_response, sse

JSON = {"Content-Type": "application/json"}
SSE = {"Content-Type": "text/event-stream"}


async def _ask(gateway: Gateway, stream: bool) -> ChatResult:
    if stream:
        return await gateway.stream(user("hi")).collect()
    return await gateway.chat(user("hi"))


@pytest.mark.parametrize("stream", [False, True])
async def test_alltoken_cache_write_count_and_tier_reach_the_result(sim: Any, stream: bool) -> None:
    sim.state.enqueue_faults(["bad_usage:prompt_tokens_details.cache_creation_input_tokens=7"])
    async with gateway_for(sim) as gateway:
        result = await _ask(gateway, stream)
    assert result.usage is not None
    assert result.usage.cache_creation_tokens == 7
    assert result.usage.to_dict()["cache_creation_tokens"] == 7
    assert result.service_tier == "default"


@pytest.mark.parametrize("stream", [False, True])
async def test_a_zero_the_gateway_sent_stays_zero(sim: Any, stream: bool) -> None:
    async with gateway_for(sim) as gateway:
        result = await _ask(gateway, stream)
    assert result.usage is not None and result.usage.cache_creation_tokens == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_what_tokenhub_does_not_send_stays_unknown(th_sim: Any, stream: bool) -> None:
    async with gateway_for(th_sim, dialect="tokenhub") as gateway:
        result = await _ask(gateway, stream)
    assert result.usage is not None
    assert result.usage.cache_creation_tokens is None
    assert "cache_creation_tokens" not in result.usage.to_dict()
    assert result.service_tier is None


@pytest.mark.parametrize("value", ["-1", '"lots"', "1.5"])
async def test_an_invalid_cache_write_count_makes_the_usage_unknown(sim: Any, value: str) -> None:
    sim.state.enqueue_faults(
        [f"bad_usage:prompt_tokens_details.cache_creation_input_tokens={value}"]
    )
    async with gateway_for(sim) as gateway:
        result = await gateway.chat(user("hi"))
    assert result.usage is None
    assert [n.code for n in result.notices] == ["usage_invalid"]


def test_the_anthropic_style_top_level_count_is_read_too() -> None:
    usage = Usage.from_wire(
        {"prompt_tokens": 10, "completion_tokens": 2, "cache_creation_input_tokens": 4}
    )
    assert usage is not None and usage.cache_creation_tokens == 4


def _gateway(url: str) -> Gateway:
    provider = Provider(name="canned", base_url=url, api_key_env=None, dialect="openai")
    return Gateway(provider, api_key=TEST_KEY, model="m")


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("flex", "flex"),
        ("\x1b[31mred", None),
        ("x" * 500, None),
        (7, None),
        ("", None),
    ],
)
async def test_a_service_tier_that_is_no_short_word_is_unknown(
    tier: object, expected: str | None
) -> None:
    body = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
        "service_tier": tier,
    }
    reply = http_response(200, JSON, json.dumps(body).encode())
    async with canned_server(reply) as url, _gateway(url) as gateway:
        result = await gateway.chat(user("hi"))
    assert result.service_tier == expected


async def test_a_streamed_tier_on_the_first_chunk_is_kept() -> None:
    first = {"id": "c1", "model": "m", "service_tier": "priority"}
    events = sse(
        "data: " + json.dumps({**first, "choices": [{"index": 0, "delta": {"content": "ok"}}]}),
        "data: "
        + json.dumps({**first, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        "data: [DONE]",
    )
    async with canned_server(http_response(200, SSE, events)) as url, _gateway(url) as gateway:
        result = await gateway.stream(user("hi")).collect()
    assert result.text == "ok" and result.service_tier == "priority"

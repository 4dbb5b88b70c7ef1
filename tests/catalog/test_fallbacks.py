"""Fallback chains: which failures hand a turn to the next model, streamed or not.

The agent loop owns the chain; these tests pin, over loopback against the simulator,
every retryable failure kind of docs/wire-format.md §1.10 (429 after the retries, 5xx, a
timeout, a dropped connection) and the kinds that must never switch (400/401/402).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from alltoken_agent import Agent, Gateway, GatewayError, StreamInterruptedError
from tests.gateway.helpers import gateway_for

CHAIN = ["gpt-5.4-mini", "deepseek-v4-flash"]
ATTEMPTS = 3
"""``FAST_RETRY`` allows two retries: each failing model is asked three times."""
RETRYABLE = {
    "rate limit after the retries": "429:0",
    "all_providers_failed (503)": "503",
    "500": "500",
    "timeout before the first byte": "slow:2",
}


@pytest.fixture
async def gateway(sim: Any) -> AsyncIterator[Gateway]:
    async with gateway_for(sim, timeout=0.5) as opened:
        yield opened


def chat_models(sim: Any) -> list[str]:
    return [r.json["model"] for r in sim.state.requests if r.path.endswith("/chat/completions")]


async def run(agent: Agent, streamed: bool) -> tuple[Any, list[tuple[str, str]]]:
    """The run's result and every switch it made, streamed or not."""
    switches: list[tuple[str, str]] = []
    agent.on("model:fallback", lambda old, new, error: switches.append((old, new)))
    return await agent.run("hello there", stream=streamed), switches


@pytest.mark.slow
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("fault", list(RETRYABLE.values()), ids=list(RETRYABLE))
async def test_each_retryable_failure_switches_to_the_next_model(
    sim: Any, gateway: Gateway, fault: str, streamed: bool
) -> None:
    sim.state.enqueue_faults([fault] * ATTEMPTS)
    agent = Agent(CHAIN, tools=[], gateway=gateway)
    result, switches = await run(agent, streamed)
    assert result.model == CHAIN[1] and result.text
    assert chat_models(sim) == [CHAIN[0]] * ATTEMPTS + [CHAIN[1]]
    assert switches == [(CHAIN[0], CHAIN[1])]


@pytest.mark.slow
async def test_a_connection_dropped_before_any_reply_switches(sim: Any, gateway: Gateway) -> None:
    sim.state.enqueue_faults(["disconnect:0"] * ATTEMPTS)
    agent = Agent(CHAIN, tools=[], gateway=gateway)
    result, switches = await run(agent, streamed=False)
    assert result.model == CHAIN[1] and switches == [(CHAIN[0], CHAIN[1])]
    assert chat_models(sim) == [CHAIN[0]] * ATTEMPTS + [CHAIN[1]]


@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("fault", ["400", "401", "402"])
async def test_client_errors_never_switch(
    sim: Any, gateway: Gateway, fault: str, streamed: bool
) -> None:
    sim.state.enqueue_faults([fault])
    agent = Agent(CHAIN, tools=[], gateway=gateway)
    with pytest.raises(GatewayError) as caught:
        await run(agent, streamed)
    assert caught.value.status == int(fault)
    assert chat_models(sim) == [CHAIN[0]]


@pytest.mark.parametrize("fault", ["disconnect:2", "stall:2:2"])
async def test_after_the_first_byte_a_broken_stream_is_an_error_not_a_switch(
    sim: Any, gateway: Gateway, fault: str
) -> None:
    sim.state.enqueue_faults([fault])
    agent = Agent(CHAIN, tools=[], gateway=gateway)
    events: list[Any] = []
    with pytest.raises(StreamInterruptedError):
        async for event in agent.stream("hello there"):
            events.append(event)
    assert chat_models(sim) == [CHAIN[0]]
    assert not [e for e in events if e.name == "model:fallback"]


async def test_the_configs_fallbacks_extend_a_single_model(sim: Any, gateway: Gateway) -> None:
    from alltoken_agent.config import Config

    sim.state.enqueue_faults(["503"] * ATTEMPTS)
    config = Config.model_validate({"fallbacks": [CHAIN[1]]})
    agent = Agent(CHAIN[0], tools=[], gateway=gateway, config=config)
    result, switches = await run(agent, streamed=True)
    assert result.model == CHAIN[1] and switches == [(CHAIN[0], CHAIN[1])]
    assert Agent(CHAIN, config=config).models == CHAIN  # an explicit chain wins

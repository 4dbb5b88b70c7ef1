"""Search, thinking, structured output, fallbacks and image input, against the simulator."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from alltoken_agent import (
    AgentError,
    AllModelsFailedError,
    AuthenticationError,
    OutputValidationError,
    StreamInterruptedError,
    UserError,
    calculate,
    image,
)
from alltoken_agent.agent import Agent
from tests.agent.test_agent import agent_on, chat_bodies, close_gateways  # noqa: F401


class City(BaseModel):
    name: str
    population: int
    coastal: bool
    tags: list[str]


class Strict(BaseModel):
    code: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")


async def test_structured_output_returns_a_validated_instance(sim: Any) -> None:
    agent = agent_on(sim, output_type=City)
    city = await agent.send("Describe a city")
    assert isinstance(city, City)
    sent = chat_bodies(sim)[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "City"
    assert sent["json_schema"]["schema"]["required"] == ["name", "population", "coastal", "tags"]


async def test_invalid_structured_reply_is_retried_once_with_the_errors(sim: Any) -> None:
    agent = agent_on(sim)
    city = await agent.send("[[reply this is not json]]", output_type=City)
    assert isinstance(city, City)
    retry_prompt = chat_bodies(sim)[-1]["messages"][-1]
    assert retry_prompt["role"] == "user" and "did not match" in retry_prompt["content"]


async def test_structured_reply_invalid_twice_raises(sim: Any) -> None:
    agent = agent_on(sim)
    with pytest.raises(OutputValidationError) as caught:
        await agent.send("give me a code", output_type=Strict)
    assert isinstance(caught.value, AgentError)
    assert len(chat_bodies(sim)) == 2


def test_output_type_must_be_an_object() -> None:
    with pytest.raises(UserError, match="object type"):
        Agent(model="m", output_type=int)


async def test_thinking_streams_reasoning_apart_from_the_answer(sim: Any) -> None:
    agent = agent_on(sim, thinking=True, thinking_budget=512, tools=[])
    names: list[str] = []
    reasoning: list[str] = []
    async for event in agent.stream("hello there"):
        names.append(event.name)
        if event.name == "reasoning:delta":
            reasoning.append(event.delta)
    # The reasoning block is over before the answer begins.
    assert names.index("stream:start") + 1 == names.index("reasoning:start")
    assert names.index("reasoning:start") < names.index("reasoning:delta")
    assert names.index("reasoning:end") + 1 == names.index("stream:delta")
    body = chat_bodies(sim)[-1]
    assert body["thinking"] is True and body["thinking_budget"] == 512
    text = agent.get_messages()[-1]["content"]
    assert reasoning and "".join(reasoning) not in text


async def test_search_on_a_native_family_sends_the_flag(sim: Any) -> None:
    agent = agent_on(sim, model="deepseek-v4-flash", enable_search=True, tools=[])
    names = [e.name async for e in agent.stream("latest news")]
    body = chat_bodies(sim)[-1]
    assert body["enable_search"] is True and "tools" not in body
    assert "notice" not in names
    assert "[simulated web search]" in agent.get_messages()[-1]["content"]


@pytest.mark.parametrize("model", ["gpt-5.4", "claude-sonnet-4-6", "gemini-3-flash-preview"])
async def test_search_elsewhere_uses_the_web_search_tool_with_a_notice(
    sim: Any, model: str
) -> None:
    agent = agent_on(sim, model=model, enable_search=True, tools=[])
    events = [e async for e in agent.stream('[[call web_search {"query": "bitcoin"}]]')]
    notices = [e for e in events if e.name == "notice"]
    assert len(notices) == 1 and "web_search" in notices[0].message
    first = chat_bodies(sim)[0]
    assert "enable_search" not in first
    assert [t["function"]["name"] for t in first["tools"]] == ["web_search"]
    # the tool itself searched through a native family
    search = chat_bodies(sim)[1]
    assert search["enable_search"] is True and search["model"].startswith("qwen")
    results = [e for e in events if e.name == "tool:result"]
    assert "[simulated web search]" in results[0].result and not results[0].is_error


async def test_family_table_is_overridable_in_config(sim: Any) -> None:
    from alltoken_agent.config import Config

    config = Config.model_validate({"families": {"claude": {"search": "native"}}})
    agent = Agent(
        model="claude-sonnet-4-6",
        enable_search=True,
        gateway=agent_on(sim).gateway,
        config=config,
    )
    await agent.send("hi")
    assert chat_bodies(sim)[-1]["enable_search"] is True


async def test_reasoning_is_echoed_only_to_families_that_need_it(sim: Any) -> None:
    for model, echoed in [("deepseek-v4-flash", True), ("qwen3.6-flash", False)]:
        sim.state.reset()
        agent = agent_on(sim, model=model, thinking=True)
        await agent.send("What is 2+3?")
        second = chat_bodies(sim)[1]["messages"]
        assistant = next(m for m in second if m["role"] == "assistant")
        assert ("reasoning_content" in assistant) is echoed, model


async def test_fallback_switches_model_after_retries_and_says_so(sim: Any) -> None:
    agent = agent_on(sim, model=["gpt-5.4-mini", "deepseek-v4-flash"], tools=[])
    sim.state.enqueue_faults(["503", "503", "503"])
    fallbacks: list[tuple[str, str]] = []
    agent.on("model:fallback", lambda old, new, error: fallbacks.append((old, new)))
    result = await agent.run("hello there")
    assert fallbacks == [("gpt-5.4-mini", "deepseek-v4-flash")]
    assert result.model == "deepseek-v4-flash"
    assert [b["model"] for b in chat_bodies(sim)] == ["gpt-5.4-mini"] * 3 + ["deepseek-v4-flash"]


@pytest.mark.parametrize("fault", ["400", "401", "402"])
async def test_fallback_never_on_client_errors(sim: Any, fault: str) -> None:
    agent = agent_on(sim, model=["gpt-5.4-mini", "deepseek-v4-flash"], tools=[])
    sim.state.enqueue_faults([fault])
    with pytest.raises(Exception) as caught:
        await agent.send("hello there")
    assert getattr(caught.value, "status", None) == int(fault)
    assert [b["model"] for b in chat_bodies(sim)] == ["gpt-5.4-mini"]
    if fault == "401":
        assert isinstance(caught.value, AuthenticationError)


async def test_every_model_failing_raises_one_error_holding_each_attempt(sim: Any) -> None:
    agent = agent_on(sim, model=["gpt-5.4-mini", "deepseek-v4-flash"], tools=[])
    sim.state.enqueue_faults(["503"] * 6)
    with pytest.raises(AllModelsFailedError) as caught:
        await agent.send("hello there")
    assert [m for m, _ in caught.value.failures] == ["gpt-5.4-mini", "deepseek-v4-flash"]
    assert caught.value.last_error.code == "all_providers_failed"


async def test_a_broken_stream_is_an_error_not_a_silent_switch(sim: Any) -> None:
    agent = agent_on(sim, model=["gpt-5.4-mini", "deepseek-v4-flash"], tools=[])
    sim.state.enqueue_faults(["disconnect:3"])
    with pytest.raises(StreamInterruptedError):
        await agent.send("hello there")
    assert len(chat_bodies(sim)) == 1


def tiny_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"\x00\xff\x00\x00"
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return path


async def test_image_input_sends_a_data_url_part(sim: Any, tmp_path: Path) -> None:
    picture = tiny_png(tmp_path / "dot.png")
    agent = agent_on(sim, model="gpt-5.4-mini", tools=[])
    await agent.send([{"type": "text", "text": "What is this?"}, image(picture, detail="low")])
    part = chat_bodies(sim)[-1]["messages"][-1]["content"][1]
    url = part["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and part["image_url"]["detail"] == "low"
    assert base64.b64decode(url.split(",", 1)[1]) == picture.read_bytes()
    assert image("https://example.com/a.png")["image_url"]["url"] == "https://example.com/a.png"


def test_image_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read image"):
        image(tmp_path / "missing.png")
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    with pytest.raises(UserError, match="not a PNG, JPEG, GIF or WebP"):
        image(not_image)


async def test_seed_style_tool_definition_works_in_the_loop(sim: Any) -> None:
    seen: list[dict[str, Any]] = []

    def execute(args: dict[str, Any]) -> str:
        seen.append(args)
        return f"hello {args['who']}"

    seed_tool = {
        "definition": {
            "type": "function",
            "function": {
                "name": "greet",
                "description": "Greet someone.",
                "parameters": {
                    "type": "object",
                    "properties": {"who": {"type": "string"}},
                    "required": ["who"],
                },
            },
        },
        "execute": execute,
    }
    agent = agent_on(sim, tools=[seed_tool, calculate])
    text = await agent.send('[[call greet {"who": "Ada"}]]')
    assert seen == [{"who": "Ada"}] and "hello Ada" in text


def test_constructor_rejects_bad_settings() -> None:
    with pytest.raises(UserError):
        Agent(model=[])
    with pytest.raises(UserError):
        Agent(max_steps=0)
    with pytest.raises(UserError, match="unknown event"):
        Agent().on("nope", print)


async def _step_costs(sim: Any) -> tuple[list[Any], Any]:
    from alltoken_agent.catalog import ModelPrice

    probe = agent_on(sim)
    costs: list[Any] = []
    probe.on("cost", lambda cost, model: costs.append(cost))
    await probe.send("What is 2+3?")
    price = ModelPrice(
        "minimax-m2.7", input_per_1k=costs[0].input_price, output_per_1k=costs[0].output_price
    )
    sim.state.reset()
    return [c.amount for c in costs], price


async def test_agent_budget_stops_before_the_request_that_would_cross_it(sim: Any) -> None:
    from decimal import Decimal

    from alltoken_agent import BudgetExceededError

    (step1, _), price = await _step_costs(sim)
    # Room for the first request of a tool turn, not for the second.
    agent = agent_on(sim, budget_usd=step1 * Decimal("1.01"), prices=lambda m: price)
    with pytest.raises(BudgetExceededError, match="agent budget"):
        await agent.send("What is 2+3?")
    assert len(chat_bodies(sim)) == 1  # the second request was never sent
    # the turn's first step stays in the history, whole
    assert [m["role"] for m in agent.get_messages()] == ["system", "user", "assistant", "tool"]


async def test_agent_budget_warns_from_80_percent(sim: Any) -> None:
    from decimal import Decimal

    (step1, step2), price = await _step_costs(sim)
    # Room for the third request's estimate (its prompt and tool schemas) too.
    agent = agent_on(sim, budget_usd=(step1 + step2) * Decimal("1.6"), prices=lambda m: price)
    warnings: list[tuple[str, float]] = []
    agent.on("budget:warning", lambda label, limit, spent, used: warnings.append((label, used)))
    await agent.send("What is 2+3?")
    assert warnings == []
    await agent.send("thanks")
    assert len(warnings) == 1 and warnings[0][0] == "agent budget"
    # It warns once spend plus the next request's estimate reach 80 % of the limit.
    assert 0.5 <= warnings[0][1] < 0.8


async def test_requests_carry_the_agent_tag_for_the_ledger(sim: Any) -> None:
    from alltoken_agent import RequestRecord

    agent = agent_on(sim)
    records: list[RequestRecord] = []
    agent.gateway.add_observer(records.append)
    await agent.send("What is 2+3?")
    assert len(records) == 2 and {r.tags.get("agent") for r in records} == {agent.id}


async def test_auto_model_is_chosen_from_the_catalog_with_a_reason(sim: Any) -> None:
    agent = agent_on(sim, model="auto:cheap")
    events = [e async for e in agent.stream("What is 2+3?")]
    chosen = [e for e in events if e.name == "model:chosen"]
    assert len(chosen) == 1 and chosen[0].policy == "cheap" and chosen[0].reason
    assert {b["model"] for b in chat_bodies(sim)} == {chosen[0].model}
    assert not chosen[0].model.startswith("auto:")
    # tools were offered, so the chosen model must support them
    from alltoken_agent.catalog import Catalog

    entries = {e.id: e for e in await Catalog(agent.gateway).entries()}
    assert "tools" in entries[chosen[0].model].capabilities


async def test_auto_model_with_an_image_needs_vision(sim: Any, tmp_path: Path) -> None:
    from alltoken_agent.catalog import Catalog

    picture = tiny_png(tmp_path / "dot.png")
    agent = agent_on(sim, model="auto:cheap", tools=[])
    chosen: list[str] = []
    agent.on("model:chosen", lambda model, policy, reason: chosen.append(model))
    await agent.send([{"type": "text", "text": "What is this?"}, image(picture)])
    entries = {e.id: e for e in await Catalog(agent.gateway).entries()}
    assert "vision" in entries[chosen[0]].capabilities


def collapsed(names: list[str]) -> list[str]:
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


THINKING_ROUND_TRIP = [
    "message:user",
    "thinking:start",
    "stream:start",
    "reasoning:start",
    "reasoning:delta",
    "reasoning:end",
    "stream:end",
    "usage",
    "cost",
    "tool:call",
    "tool:result",
    "stream:start",
    "reasoning:start",
    "reasoning:delta",
    "reasoning:end",
    "stream:delta",
    "stream:end",
    "usage",
    "cost",
    "message:assistant",
    "thinking:end",
]


@pytest.mark.parametrize("stream", [True, False])
async def test_reasoning_events_wrap_each_block_inside_the_runs_thinking_pair(
    sim: Any, stream: bool
) -> None:
    agent = agent_on(sim, thinking=True)
    names: list[str] = []
    for name in set(THINKING_ROUND_TRIP):
        agent.on(name, lambda *_, name=name: names.append(name))
    blocks: list[str] = []
    agent.on("reasoning:end", lambda reasoning: blocks.append(reasoning))
    await agent.send("What is 2+3?", stream=stream)

    # AllToken reports cost in a comment after a stream only: no cost event without one.
    expected = [n for n in THINKING_ROUND_TRIP if stream or n != "cost"]
    assert collapsed(names) == expected
    steps = [m for m in agent.get_messages() if m["role"] == "assistant"]
    # reasoning:end carries each block's whole text, as kept in the history
    assert blocks == [m["reasoning_content"] for m in steps] and all(blocks)


async def test_thinking_off_still_has_the_run_pair_and_no_reasoning_events(sim: Any) -> None:
    agent = agent_on(sim)
    names = [e.name async for e in agent.stream("What is 2+3?")]
    assert "tool:result" in names
    assert names.count("thinking:start") == names.count("thinking:end") == 1
    assert names[1] == "thinking:start" and names[-1] == "thinking:end"
    assert not {"reasoning:start", "reasoning:end", "reasoning:delta"} & set(names)

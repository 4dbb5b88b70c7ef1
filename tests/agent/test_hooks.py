"""``agent.on`` handlers with the AllToken agent skill's signatures, sync and async."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Agent, calculate, image
from alltoken_agent.agent import ApprovalRequest
from alltoken_agent.errors import UserError
from tests.agent.test_agent import agent_on, chat_bodies, close_gateways  # noqa: F401

PROMPT = "What is 2+3?"


def seed_handlers(agent: Agent, seen: dict[str, list[tuple[Any, ...]]]) -> None:
    """One handler per skill event, written with the skill's (TypeScript) parameter lists."""

    def record(name: str, *payload: Any) -> None:
        seen.setdefault(name, []).append(payload)

    agent.on("message:user", lambda message: record("message:user", message))
    agent.on("message:assistant", lambda message: record("message:assistant", message))
    agent.on("stream:start", lambda: record("stream:start"))
    agent.on("stream:delta", lambda delta, accumulated: record("stream:delta", delta, accumulated))
    agent.on("stream:end", lambda full_text: record("stream:end", full_text))
    agent.on("tool:call", lambda name, args, call_id: record("tool:call", name, args, call_id))
    agent.on(
        "tool:result", lambda name, result, call_id: record("tool:result", name, result, call_id)
    )
    agent.on("thinking:start", lambda: record("thinking:start"))
    agent.on("thinking:end", lambda: record("thinking:end"))
    agent.on("error", lambda error: record("error", error))


async def test_every_seed_event_reaches_a_handler_with_the_seeds_signature(sim: Any) -> None:
    agent = agent_on(sim, thinking=True)
    seen: dict[str, list[tuple[Any, ...]]] = {}
    seed_handlers(agent, seen)
    text = await agent.send(PROMPT)

    assert "error" not in seen  # no handler was called with a payload it cannot take
    # The skill's message objects, as in its TypeScript handlers.
    assert seen["message:user"] == [({"role": "user", "content": PROMPT},)]
    assert seen["message:assistant"] == [({"role": "assistant", "content": text},)]
    assert seen["stream:start"] == [(), ()]  # one per step
    assert [full for (full,) in seen["stream:end"]] == ["", text]
    assert seen["stream:delta"][-1][1] == text
    ((name, args, call_id),) = seen["tool:call"]
    assert (name, args) == ("calculate", {"expression": "2+3"})
    assert seen["tool:result"] == [("calculate", '{"expression": "2+3", "result": 5}', call_id)]
    assert call_id == chat_bodies(sim)[1]["messages"][-1]["tool_call_id"]
    assert len(seen["thinking:start"]) == len(seen["thinking:end"]) == 1  # one per run


async def test_the_full_payloads_reach_handlers_that_take_them_async_too(sim: Any) -> None:
    agent = agent_on(sim, thinking=True, model=["gpt-5.4-mini", "deepseek-v4-flash"])
    seen: dict[str, tuple[Any, ...]] = {}

    def keep(name: str) -> Any:
        async def handler(*payload: Any) -> None:
            seen[name] = payload

        return handler

    for name in ("stream:start", "stream:end", "tool:result", "reasoning:delta", "usage"):
        agent.on(name, keep(name))
    agent.on("cost", lambda cost, model: seen.setdefault("cost", (cost, model)))
    agent.on("model:fallback", lambda old, new, error: seen.setdefault("fallback", (old, new)))
    sim.state.enqueue_faults(["503", "503", "503"])
    await agent.send(PROMPT)

    assert seen["fallback"] == ("gpt-5.4-mini", "deepseek-v4-flash")
    assert seen["stream:start"] == ("deepseek-v4-flash", 2)
    assert seen["stream:end"][1] == "stop"
    assert seen["tool:result"][0] == "calculate" and seen["tool:result"][3] is False
    delta, accumulated = seen["reasoning:delta"]
    assert accumulated.endswith(delta) and accumulated
    usage, model = seen["usage"]
    assert usage.total_tokens > 0 and model == "deepseek-v4-flash"
    assert seen["cost"][0].amount > 0 and seen["cost"][1] == "deepseek-v4-flash"


async def test_a_raising_handler_without_an_error_handler_is_logged_not_fatal(
    sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    agent = agent_on(sim)

    def broken(message: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    agent.on("message:user", broken)
    with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
        text = await agent.send(PROMPT)
    assert "5" in text
    logged = [r.getMessage() for r in caplog.records]
    assert any("message:user handler" in line and "handler bug" in line for line in logged)


async def test_the_seed_error_handler_gets_a_run_failure(sim: Any) -> None:
    agent = agent_on(sim)
    errors: list[BaseException] = []
    agent.on("error", lambda error: errors.append(error))
    sim.state.enqueue_faults(["400"])
    with pytest.raises(Exception) as caught:
        await agent.send(PROMPT)
    assert errors == [caught.value]


def test_a_handler_must_be_callable() -> None:
    agent = Agent(model="m", tools=[calculate])
    with pytest.raises(UserError, match="must be callable"):
        agent.on("tool:call", "print")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer", "needle"),
    [(None, "returned None"), ("yes", "returned 'yes'"), (..., "must be a dict")],
)
async def test_an_approval_handler_with_a_bad_answer_is_a_clear_error(
    sim: Any, answer: Any, needle: str
) -> None:
    from alltoken_agent.agent import ApprovalDecision

    def handler(request: ApprovalRequest) -> Any:
        return ApprovalDecision.edit("2+3") if answer is ... else answer

    agent = agent_on(sim, require_approval=["calculate"], approval_handler=handler)
    with pytest.raises(UserError, match=needle):
        await agent.send('[[call calculate {"expression": "2+3"}]]')
    # nothing ran and no tool call was left without its result
    assert [m["role"] for m in agent.get_messages()] == ["system", "user"]


def test_an_image_path_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    """Local input checking only: the folder never reaches the wire."""
    with pytest.raises(UserError, match="it is a folder"):
        image(tmp_path)

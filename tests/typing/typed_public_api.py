"""Checked by mypy (``[tool.mypy] files``), never run: the public API catches mistakes.

The right uses type-check. Each wrong use carries a ``# type: ignore[code]``, and
mypy's strict mode warns about an ignore that is not needed (``warn_unused_ignores``),
so ``scripts/check`` fails the day mypy stops catching one of them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from typing_extensions import assert_type

from alltoken_agent import Agent, Cost, RunResult, Usage, create_agent
from alltoken_agent.agent import AgentEvent, AgentRun, ModelSettings


class City(BaseModel):
    name: str


def settings_are_typed() -> None:
    Agent(settings={"temperature": 0.2, "max_tokens": 400, "stop": ["END"], "seed": 7})
    Agent(settings={"thinking": True, "thinking_budget": 2000, "tool_choice": "auto"})
    Agent(settings={"extra_body": {"conversation_id": 12}})
    settings: ModelSettings = {"top_p": 0.9}
    create_agent("deepseek-v4-flash", settings=settings)
    Agent(temperature=0.2)  # the skill's named argument stays


def misspelled_options_fail() -> None:
    Agent(temprature=0.2)  # type: ignore[call-arg]
    Agent(max_tokens=16)  # type: ignore[call-arg]
    create_agent(temprature=0.2)  # type: ignore[call-arg]
    Agent(settings={"temprature": 0.2})  # type: ignore[arg-type]
    Agent(settings={"max_tokens": "many"})  # type: ignore[arg-type]
    Agent(settings={"tool_choice": "sometimes"})  # type: ignore[arg-type]


async def results_are_typed() -> None:
    plain = Agent()
    assert_type(plain.run_sync("hi"), RunResult[str])
    assert_type(plain.run_sync("hi").output, str)
    assert_type(plain.run_sync("hi", output_type=City), RunResult[City])
    typed = Agent(output_type=City)
    assert_type(typed.run_sync("hi"), RunResult[City])
    assert_type(await typed.run("hi"), RunResult[City])

    run = typed.stream("hi")
    assert_type(run, AgentRun[City])
    async for event in run:
        assert_type(event, AgentEvent)
    assert_type(run.result.output, City)
    assert_type(plain.stream("hi"), AgentRun[str])
    assert_type(plain.stream("hi", output_type=City).result, RunResult[City])


def handlers_are_typed() -> None:
    agent = Agent()

    def on_usage(usage: Usage, model: str) -> None: ...

    async def on_cost(cost: Cost, model: str) -> None: ...

    def on_budget(label: str, limit: Decimal, spent: Decimal, fraction: float) -> None: ...

    def on_anything(*payload: Any) -> None: ...

    agent.on("tool:call", lambda name, args, call_id: print("calling", name))
    agent.on("tool:call", lambda name: None)  # the leading fields only, as in the skill
    agent.on("stream:delta", lambda delta, accumulated: None)
    agent.on("thinking:start", lambda: None)
    agent.on("usage", on_usage)
    agent.on("cost", on_cost)
    agent.on("budget:warning", on_budget)
    agent.on("error", on_anything)
    agent.off("usage", on_usage)


def wrong_handlers_fail() -> None:
    agent = Agent()

    def on_usage(usage: Usage, model: str) -> None: ...

    def takes_an_int(count: int) -> None: ...

    agent.on("tool:cal", lambda name, args, call_id: None)  # type: ignore[call-overload]
    agent.on("usage", lambda usage, model, extra: None)  # type: ignore[call-overload]
    agent.on("thinking:start", lambda outcome: None)  # type: ignore[call-overload]
    agent.on("cost", on_usage)  # type: ignore[call-overload]
    agent.on("tool:call", takes_an_int)  # type: ignore[call-overload]
    agent.off("tool:cal")  # type: ignore[arg-type]

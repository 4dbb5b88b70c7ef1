"""Checked by mypy (``[tool.mypy] files``), never run: the generics infer for users."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from typing_extensions import assert_type

from alltoken_agent import Agent, create_agent
from alltoken_agent.agent import ThinkingEndEvent


class City(BaseModel):
    name: str


async def check() -> None:
    plain = Agent()
    assert_type(plain, Agent[str])
    assert_type(await plain.send("hi"), str)
    typed = Agent(output_type=City)
    assert_type(typed, Agent[City])
    assert_type(await typed.send("hi"), City)
    assert_type(await plain.send("hi", output_type=City), City)
    result = await typed.run("hi")
    assert_type(result.output, City)


def check_blocking() -> None:
    plain = Agent()
    assert_type(plain.send_sync("hi"), str)
    assert_type(plain.send_sync("hi", output_type=City), City)
    typed = Agent(output_type=City)
    assert_type(typed.send_sync("hi"), City)


async def check_factory() -> None:
    plain = create_agent("deepseek-v4-flash", tools=[], max_steps=3, thinking=True)
    assert_type(plain, Agent[str])
    assert_type(await plain.send("hi"), str)
    typed = create_agent(model=["a", "b"], output_type=City, budget_usd="0.5")
    assert_type(typed, Agent[City])
    assert_type(typed.send_sync("hi"), City)


def check_events(event: ThinkingEndEvent) -> None:
    outcome = event.outcome
    assert_type(outcome, Literal["done", "error", "cancelled"])

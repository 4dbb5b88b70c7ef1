"""Checked by mypy (see tests/test_typing.py): the generics infer for users."""

from __future__ import annotations

from pydantic import BaseModel
from typing_extensions import assert_type

from alltoken_agent import Agent


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

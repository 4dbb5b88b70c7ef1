"""Structured output: get a validated pydantic object back instead of text.

With ``output_type=Recipe`` the agent asks the model for JSON matching the model's
schema (``response_format``), validates the reply, and returns a ``Recipe``. If
the reply does not validate, the agent tells the model what was wrong and asks
once more before raising ``OutputValidationError``.

Run it with ``ALLTOKEN_API_KEY`` set to talk to AllToken, or without a key to run
on the built-in offline simulator (which answers with a minimal valid instance,
filled with the word "simulated")::

    python examples/structured_output.py
"""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import BaseModel, Field

from alltoken_agent import Agent, Gateway


def open_gateway() -> Gateway:
    """AllToken when ALLTOKEN_API_KEY is set, else the built-in offline simulator."""
    if os.environ.get("ALLTOKEN_API_KEY"):
        return Gateway()
    print("no ALLTOKEN_API_KEY: running on the offline simulator", file=sys.stderr)
    return Gateway.offline()


# Field descriptions and constraints become part of the JSON schema the model sees.
class Ingredient(BaseModel):
    name: str = Field(description="What to use, e.g. 'plain flour'.")
    quantity: float = Field(gt=0, description="How much, in `unit`.")
    unit: str = Field(description="e.g. 'g', 'ml', 'tbsp', or 'piece'.")


class Recipe(BaseModel):
    name: str = Field(min_length=1)
    servings: int = Field(ge=1)
    ingredients: list[Ingredient] = Field(min_length=1)
    steps: list[str] = Field(min_length=1, description="One instruction per step, in order.")


async def main() -> None:
    async with open_gateway() as gateway:
        agent = Agent(gateway=gateway)
        # The return value is typed: a Recipe, not a str. (`Agent(output_type=Recipe)`
        # would make every send() of this agent return one.)
        recipe = await agent.send(
            "Give me a simple pancake recipe for 4 people.", output_type=Recipe
        )
        print(f"{type(recipe).__name__}: {recipe.name} (serves {recipe.servings})")
        print("ingredients:")
        for item in recipe.ingredients:
            print(f"  - {item.quantity:g} {item.unit} {item.name}")
        print("steps:")
        for number, step in enumerate(recipe.steps, start=1):
            print(f"  {number}. {step}")


if __name__ == "__main__":
    asyncio.run(main())

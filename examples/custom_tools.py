"""Custom tools: give the agent your own Python functions to call.

Three ways to make a tool:

1. ``@tool`` on a plain (sync) function: the JSON schema comes from the type hints
   and the descriptions from the Google-style docstring. Sync tools run in a worker
   thread, so they never block the event loop.
2. ``@tool`` on an async function. Raising ``ModelRetry`` sends the message back to
   the model as an error result, so it can correct itself and try again.
3. The explicit form ``{"definition": {...}, "execute": fn}``, with a hand-written
   OpenAI function definition; ``fn`` gets the arguments as a dict.

Run it with ``ALLTOKEN_API_KEY`` set to let a real model pick the tools, or without
a key to run on the built-in offline simulator. The simulator's scripted model only
calls tools it recognises (clock and calculator), so offline the agent answers
without calling these ones; the rest of the script runs the same.

    python examples/custom_tools.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any, Literal

from alltoken_agent import Agent, Gateway, ModelRetry, tool


def open_gateway() -> Gateway:
    """AllToken when ALLTOKEN_API_KEY is set, else the built-in offline simulator."""
    if os.environ.get("ALLTOKEN_API_KEY"):
        return Gateway()
    print("no ALLTOKEN_API_KEY: running on the offline simulator", file=sys.stderr)
    return Gateway.offline()


# A Literal becomes an `enum` in the schema the model sees.
Unit = Literal["mm", "cm", "m", "km", "in", "ft", "mi"]
METRES = {  # metres per unit
    "mm": 0.001,
    "cm": 0.01,
    "m": 1.0,
    "km": 1000.0,
    "in": 0.0254,
    "ft": 0.3048,
    "mi": 1609.344,
}


@tool
def convert_length(value: float, from_unit: Unit, to_unit: Unit) -> float:
    """Convert a length from one unit to another.

    Args:
        value: The length to convert.
        from_unit: The unit of `value`.
        to_unit: The unit to convert to.
    """
    return round(value * METRES[from_unit] / METRES[to_unit], 6)


CAPITALS = {"france": "Paris", "japan": "Tokyo", "kenya": "Nairobi", "peru": "Lima"}


@tool(timeout=5)
async def lookup_capital(country: str) -> str:
    """Look up the capital city of a country in the company's reference data.

    Args:
        country: The country's English name, e.g. "Japan".
    """
    await asyncio.sleep(0)  # stands in for a database or HTTP call
    capital = CAPITALS.get(country.strip().lower())
    if capital is None:
        # The model reads this and can retry with one of the known names.
        known = ", ".join(sorted(name.title() for name in CAPITALS))
        raise ModelRetry(f"no data for {country!r}; known countries: {known}")
    return capital


def count_words(args: dict[str, Any]) -> dict[str, int]:
    """Execute function of the explicit-form tool: gets the arguments as a dict."""
    words = args["text"].split()
    return {"words": len(words), "characters": len(args["text"])}


# The explicit form: you write the OpenAI function definition yourself.
COUNT_WORDS = {
    "definition": {
        "type": "function",
        "function": {
            "name": "count_words",
            "description": "Count the words and characters in a text.",
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string", "description": "The text."}},
                "required": ["text"],
            },
        },
    },
    "execute": count_words,
}


async def main() -> None:
    # What the model is told about a tool: name, description and parameter schema.
    print("convert_length schema:")
    print(json.dumps(convert_length.definition(), indent=2))

    # A decorated tool is still callable like the function it wraps.
    print("5 km in mi:", convert_length(5, "km", "mi"))
    print("capital of Japan:", await lookup_capital("Japan"))
    try:
        await lookup_capital("Atlantis")
    except ModelRetry as retry:
        print("ModelRetry, the model would read:", retry.message)

    async with open_gateway() as gateway:
        agent = Agent(gateway=gateway, tools=[convert_length, lookup_capital, COUNT_WORDS])
        print("agent tools:", ", ".join(t.name for t in agent.tools))
        for question in (
            "How many miles is a 42.195 km marathon?",
            "What is the capital of Kenya?",
            "How many words are in 'the quick brown fox jumps over the lazy dog'?",
        ):
            result = await agent.run(question)
            called = [f"{c.name}({c.arguments}) -> {c.result}" for c in result.tool_calls]
            print(f"\nQ: {question}")
            print("tools called:", "; ".join(called) or "none")
            print(f"A: {result.text}")


if __name__ == "__main__":
    asyncio.run(main())

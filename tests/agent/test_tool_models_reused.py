"""A function described again reuses its argument model, and only when nothing differs.

An agent built per request from the same plain functions describes them each time;
the pydantic model and schema are the expensive part, and are kept by what they were
built from (`_function_schema._MODELS`). These tests pin that what is kept is never
handed to a function it does not fit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from alltoken_agent import Agent
from alltoken_agent.agent import _function_schema
from alltoken_agent.agent._tool_definitions import parse_docstring
from alltoken_agent.agent.tools import Tool, ToolContext


def _kept(name: str) -> list[Any]:
    """The argument models kept for tools called ``name``."""
    return [value for key, value in _function_schema._MODELS.items() if key[0] == name]


def test_the_same_function_described_again_reuses_its_model_and_gets_its_own_schema() -> None:
    def forecast(city: str, days: int = 3) -> str:
        """Look a city up.

        Args:
            city: Where.
            days: How many days ahead.
        """
        return f"{city} {days}"

    first = Tool(forecast)
    again = Agent(model="m", tools=[forecast]).tools[0]
    assert len(_kept("forecast")) == 1  # one model, built once
    assert again.parameters == first.parameters
    again.parameters["properties"]["city"]["description"] = "edited"
    assert first.parameters["properties"]["city"]["description"] == "Where."


@pytest.mark.parametrize(
    "variants",
    [
        # A default equal to another of another type: 1 == True.
        ("def lookup(x: int = 1) -> int: return x", "def lookup(x: int = True) -> int: return x"),
        # Unions compare equal in any order, but list their types in that order.
        ("def lookup(x: int | str) -> str: return str(x)", "def lookup(x: str | int) -> str: ..."),
        # Another description of the same parameter.
        (
            'def lookup(x: int) -> int:\n    """Do.\n\n    Args:\n        x: One.\n    """',
            'def lookup(x: int) -> int:\n    """Do.\n\n    Args:\n        x: Two.\n    """',
        ),
        # Another parameter name.
        ("def lookup(x: int) -> int: return x", "def lookup(y: int) -> int: return y"),
    ],
)
def test_functions_that_differ_in_anything_the_schema_shows_get_their_own(
    variants: tuple[str, str],
) -> None:
    tools = []
    for source in variants:
        space: dict[str, Any] = {}
        exec(source, space)
        tools.append(Tool(space["lookup"]))
    # As text: 1 == True, so the dicts would compare equal.
    assert json.dumps(tools[0].parameters) != json.dumps(tools[1].parameters)


async def test_a_context_parameter_in_another_place_binds_the_arguments_right() -> None:
    # Fields are named by position: the same plain parameters after a context parameter
    # are other fields, so the kept model of the first must not serve the second.
    def before(ctx: ToolContext, x: int) -> int:
        return x

    def after(x: int, ctx: ToolContext) -> int:
        return x

    made = [Tool(before, name="lookup"), Tool(after, name="lookup")]
    assert made[0].parameters == made[1].parameters
    context = ToolContext(gateway=None, model="m", call_id="c", step=1)  # type: ignore[arg-type]
    for item in made:
        outcome = await item.run({"x": "7"}, context)  # converted: validation runs
        assert (outcome.is_error, outcome.content) == (False, "7")


async def test_an_unhashable_default_is_described_every_time_and_still_works() -> None:
    def lookup(tags: list[str] = ["a"]) -> list[str]:  # noqa: B006 - the point
        return tags

    first, again = Tool(lookup), Tool(lookup)
    assert first.parameters == again.parameters
    assert first.parameters["properties"]["tags"]["default"] == ["a"]
    outcome = await again.run({}, None)
    assert outcome.content == '["a"]'


def test_the_kept_models_are_bounded() -> None:
    for n in range(_function_schema._MAX_MODELS + 10):
        space: dict[str, Any] = {}
        exec(f"def lookup(x{n}: int) -> int: return 0", space)
        Tool(space["lookup"])
    assert len(_function_schema._MODELS) <= _function_schema._MAX_MODELS


def test_distinct_functions_made_alike_share_a_model() -> None:
    def make() -> Any:
        def lookup(x: int) -> int:
            return x

        return lookup

    first, again = Tool(make(), name="made_alike"), Tool(make(), name="made_alike")
    assert first.function is not again.function
    assert len(_kept("made_alike")) == 1  # the second reused the first's model
    assert first.parameters == again.parameters


def test_a_parsed_docstring_is_shared_so_it_cannot_be_edited() -> None:
    doc = "Do.\n\nArgs:\n    x: One.\n"
    parsed = parse_docstring(doc)
    assert parse_docstring(doc) is parsed
    with pytest.raises(TypeError):
        parsed.params["x"] = "Two."  # type: ignore[index]
    assert parse_docstring(doc).params == {"x": "One."}

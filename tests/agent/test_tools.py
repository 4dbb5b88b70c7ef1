"""Tools: schemas from hints and docstrings, argument checking, execution and outcomes.

These tests run tools directly, without the agent loop or the simulator: `Tool.run` is
the whole contract the loop relies on, and only `web_search` (tested in
test_builtin_tools.py) talks to a gateway.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field, field_validator
from typing_extensions import TypedDict

from alltoken_agent import Gateway, ToolError, UserError
from alltoken_agent.agent._tool_definitions import parse_docstring
from alltoken_agent.agent.tools import (
    ModelRetry,
    Tool,
    ToolContext,
    ToolOutcome,
    as_tool,
    check_unique_names,
    tool,
    tool_definitions,
)


@pytest.fixture
async def ctx() -> AsyncIterator[ToolContext]:
    # No request is ever sent: the gateway only has to exist for the context.
    async with Gateway("openai", base_url="http://127.0.0.1:9/v1", api_key="sk-unused") as gw:
        yield ToolContext(gateway=gw, model="test-model", call_id="call_1", step=1)


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: int
    title: str = "origin"


class Window(TypedDict):
    start: date
    days: int


@dataclass
class Reading:
    sensor: str
    value: float


# -- schemas -----------------------------------------------------------------------


def test_schema_and_descriptions_come_from_hints_and_google_docstring() -> None:
    @tool
    def add(a: int, b: int = 2) -> int:
        """Add two integers.

        Args:
            a (int): The first number,
                which may be negative.
            b: The second number.

        Returns:
            The sum.
        """
        return a + b

    assert add.definition() == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {
                    "a": {
                        "type": "integer",
                        "description": "The first number, which may be negative.",
                    },
                    "b": {"type": "integer", "default": 2, "description": "The second number."},
                },
                "required": ["a"],
            },
        },
    }


def test_schema_for_scalars_containers_optional_and_literal() -> None:
    @tool
    def search(
        query: str,
        limit: int = 10,
        ratio: float = 0.5,
        exact: bool = False,
        tags: list[str] | None = None,
        extra: dict[str, int] | None = None,
        sort: Literal["new", "top"] = "top",
        since: Optional[date] = None,  # noqa: UP045 - the old spelling must work too
    ) -> str:
        return query

    assert search.parameters == {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"type": "integer", "default": 10},
            "ratio": {"type": "number", "default": 0.5},
            "exact": {"type": "boolean", "default": False},
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "default": None,
            },
            "extra": {
                "anyOf": [
                    {"type": "object", "additionalProperties": {"type": "integer"}},
                    {"type": "null"},
                ],
                "default": None,
            },
            "sort": {"type": "string", "enum": ["new", "top"], "default": "top"},
            "since": {
                "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
                "default": None,
            },
        },
        "required": ["query"],
    }


def test_enum_model_and_typeddict_become_defs_without_titles() -> None:
    @tool
    def plot(color: Color, at: Point, window: Window) -> str:
        return "ok"

    schema = plot.parameters
    assert schema["properties"] == {
        "color": {"$ref": "#/$defs/Color"},
        "at": {"$ref": "#/$defs/Point"},
        "window": {"$ref": "#/$defs/Window"},
    }
    assert schema["$defs"]["Color"] == {"type": "string", "enum": ["red", "blue"]}
    # The property called "title" survives; only the schema keyword is dropped.
    assert schema["$defs"]["Point"] == {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "title": {"type": "string", "default": "origin"}},
        "required": ["x"],
    }
    assert schema["$defs"]["Window"]["required"] == ["start", "days"]
    assert "title" not in str({k: v for k, v in schema.items() if k != "$defs"})


def test_annotated_field_description_wins_over_the_docstring_and_keeps_constraints() -> None:
    @tool
    def page(n: Annotated[int, Field(ge=1, le=50, description="Page number.")] = 1) -> int:
        """Fetch a page.

        Args:
            n: Ignored, the annotation says it better.
        """
        return n

    assert page.parameters["properties"]["n"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 50,
        "default": 1,
        "description": "Page number.",
    }


def test_a_tool_without_parameters_has_an_empty_object_schema() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert ping.definition() == {
        "type": "function",
        "function": {
            "name": "ping",
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
    }


def test_decorator_options_override_name_and_description_and_set_limits() -> None:
    @tool(name="lookup-user", description="Find a user.", timeout=5, requires_approval=True)
    def find(user_id: int) -> str:
        """Docstring text that is overridden."""
        return str(user_id)

    assert (find.name, find.description, find.timeout, find.requires_approval) == (
        "lookup-user",
        "Find a user.",
        5,
        True,
    )
    assert find.definition()["function"]["name"] == "lookup-user"


def test_defaults_are_sixty_seconds_and_no_approval() -> None:
    @tool
    def noop() -> None:
        return None

    assert noop.timeout == 60.0
    assert noop.requires_approval is False


@pytest.mark.parametrize(
    ("options", "needle"),
    [({"name": "has space"}, "invalid tool name"), ({"timeout": 0}, "must be positive")],
)
def test_bad_decorator_options_are_user_errors(options: dict[str, Any], needle: str) -> None:
    def f() -> None:
        return None

    with pytest.raises(UserError, match=needle):
        tool(**options)(f)


def test_star_args_and_kwargs_are_rejected_at_decoration() -> None:
    def spread(*values: int) -> int:
        return sum(values)

    def options(**flags: bool) -> str:
        return ""

    with pytest.raises(UserError, match=r"takes \*values"):
        tool(spread)
    with pytest.raises(UserError, match=r"takes \*\*flags"):
        tool(options)


def test_a_type_pydantic_cannot_describe_is_a_short_user_error() -> None:
    def strange(lock: threading.Lock) -> None:
        return None

    with pytest.raises(UserError, match="cannot build the schema of tool strange") as info:
        tool(strange)
    assert "\n\n" not in str(info.value)


def test_types_defined_inside_a_function_resolve_under_postponed_annotations() -> None:
    class Local(BaseModel):
        n: int

    @tool
    def use_local(item: Local) -> int:
        return item.n

    assert use_local.parameters["properties"]["item"] == {"$ref": "#/$defs/Local"}


def test_context_parameter_is_injected_and_left_out_of_the_schema() -> None:
    @tool
    def who(name: str, context: ToolContext) -> str:
        return name

    @tool
    def maybe(c: ToolContext | None = None) -> str:
        return ""

    assert who.parameters == {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    }
    assert maybe.parameters["properties"] == {}


async def test_context_reaches_the_function_sync_or_async(ctx: ToolContext) -> None:
    seen: list[ToolContext] = []

    @tool
    def sync_tool(ctx: ToolContext, label: str) -> str:
        seen.append(ctx)
        return label

    @tool
    async def async_tool(label: str, ctx: ToolContext) -> str:
        seen.append(ctx)
        return f"{label}:{ctx.call_id}:{ctx.step}:{ctx.model}"

    assert (await sync_tool.run('{"label": "a"}', ctx)).content == "a"
    assert (await async_tool.run('{"label": "b"}', ctx)).content == "b:call_1:1:test-model"
    assert seen == [ctx, ctx]


def test_tool_stays_callable_like_the_function() -> None:
    def double(x: int) -> int:
        """Double a number."""
        return x * 2

    wrapped = tool(double)
    assert isinstance(wrapped, Tool)
    assert wrapped(21) == 42
    assert wrapped(x=4) == 8
    assert wrapped.__name__ == "double"
    assert wrapped.__doc__ == "Double a number."
    assert wrapped.__wrapped__ is double
    assert wrapped.function is double


# -- docstrings --------------------------------------------------------------------


def test_docstring_parser_understands_sphinx_fields() -> None:
    doc = parse_docstring(
        """Convert money.

        :param amount: How much,
            in the source currency.
        :param str currency: ISO code.
        :returns: The converted amount.
        """
    )
    assert doc.description == "Convert money."
    assert dict(doc.params) == {
        "amount": "How much, in the source currency.",
        "currency": "ISO code.",
    }


def test_docstring_parser_understands_numpy_sections() -> None:
    doc = parse_docstring(
        """Convert money.

        Longer text.

        Parameters
        ----------
        amount : float
            How much,
            in the source currency.
        currency
            ISO code.

        Returns
        -------
        float
            The converted amount.
        """
    )
    assert doc.description == "Convert money.\n\nLonger text."
    assert dict(doc.params) == {
        "amount": "How much, in the source currency.",
        "currency": "ISO code.",
    }


def test_docstring_parser_keeps_the_whole_text_without_sections() -> None:
    doc = parse_docstring("  One line.\n\n  Example: not a section header here.  ")
    assert doc.description == "One line.\n\nExample: not a section header here."
    assert dict(doc.params) == {}
    assert parse_docstring(None).description == ""


def test_sphinx_docstring_lands_in_the_schema() -> None:
    @tool
    def convert(amount: float) -> float:
        """Convert money.

        :param amount: How much.
        """
        return amount

    assert convert.description == "Convert money."
    assert convert.parameters["properties"]["amount"]["description"] == "How much."


# -- run: arguments ----------------------------------------------------------------


@tool
def calculate(expression: str, precision: int = 2) -> str:
    """Evaluate an expression."""
    return f"{expression}|{precision}"


async def test_missing_argument_is_an_error_outcome_naming_the_field(ctx: ToolContext) -> None:
    outcome = await calculate.run("{}", ctx)
    assert outcome == ToolOutcome(
        content="Error: invalid arguments for calculate: expression: Field required",
        is_error=True,
        arguments={},
    )


async def test_every_field_error_is_listed(ctx: ToolContext) -> None:
    outcome = await calculate.run('{"precision": "many"}', ctx)
    assert outcome.is_error
    assert outcome.content == (
        "Error: invalid arguments for calculate: expression: Field required; "
        "precision: Input should be a valid integer, unable to parse string as an integer"
    )
    assert outcome.arguments == {"precision": "many"}


async def test_nested_field_errors_show_their_path(ctx: ToolContext) -> None:
    @tool
    def move(to: Point) -> str:
        return "ok"

    outcome = await move.run('{"to": {"x": "left"}}', ctx)
    assert outcome.content.startswith("Error: invalid arguments for move: to.x: Input should be")


async def test_arguments_are_coerced_in_lax_mode(ctx: ToolContext) -> None:
    received: dict[str, Any] = {}

    @tool
    def record(n: int, when: date, at: Point, label: str, color: Color = Color.RED) -> str:
        received.update(n=n, when=when, at=at, label=label, color=color)
        return "ok"

    arguments = '{"n": "7", "when": "2026-05-12", "at": {"x": 1}, "label": 42, "color": "blue"}'
    outcome = await record.run(arguments, ctx)
    assert outcome.content == "ok"
    assert received == {
        "n": 7,
        "when": date(2026, 5, 12),
        "at": Point(x=1),
        "label": "42",
        "color": Color.BLUE,
    }


async def test_unknown_extra_arguments_are_ignored(ctx: ToolContext) -> None:
    outcome = await calculate.run('{"expression": "1+1", "verbose": true}', ctx)
    assert outcome.content == "1+1|2"
    assert outcome.arguments == {"expression": "1+1", "verbose": True}


@pytest.mark.parametrize("raw", ["", "   ", "\n"])
async def test_blank_arguments_count_as_an_empty_object(ctx: ToolContext, raw: str) -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert await ping.run(raw, ctx) == ToolOutcome("pong", False, {})
    assert (await calculate.run(raw, ctx)).content.endswith("expression: Field required")


async def test_invalid_json_is_an_error_outcome_with_the_raw_text(ctx: ToolContext) -> None:
    outcome = await calculate.run('{"expression": ', ctx)
    assert outcome.is_error
    assert outcome.content.startswith("Error: arguments are not valid JSON: Expecting value")
    assert outcome.arguments == '{"expression": '


@pytest.mark.parametrize(
    ("raw", "kind"), [("[1, 2]", "an array"), ('"1+1"', "a string"), ("3", "a number")]
)
async def test_json_that_is_not_an_object_is_an_error_outcome(
    ctx: ToolContext, raw: str, kind: str
) -> None:
    outcome = await calculate.run(raw, ctx)
    assert outcome.is_error
    assert outcome.content.startswith(f"Error: arguments must be a JSON object, not {kind}")
    assert outcome.arguments == raw


async def test_an_already_parsed_mapping_is_accepted(ctx: ToolContext) -> None:
    outcome = await calculate.run({"expression": "2*3"}, ctx)
    assert outcome == ToolOutcome("2*3|2", False, {"expression": "2*3"})


async def test_positional_only_parameters_are_passed_positionally(ctx: ToolContext) -> None:
    @tool
    def power(base: int, /, exp: int = 2) -> int:
        return int(base**exp)

    assert (await power.run('{"base": 3}', ctx)).content == "9"
    assert power.parameters["required"] == ["base"]


# -- run: execution ------------------------------------------------------------------


async def test_sync_tools_run_in_a_worker_thread(ctx: ToolContext) -> None:
    @tool
    def where() -> int:
        return threading.get_ident()

    outcome = await where.run("{}", ctx)
    assert int(outcome.content) != threading.get_ident()


async def test_async_tools_run_on_the_loop(ctx: ToolContext) -> None:
    @tool
    async def where() -> int:
        await asyncio.sleep(0)
        return threading.get_ident()

    assert int((await where.run("{}", ctx)).content) == threading.get_ident()


async def test_slow_sync_tool_times_out_without_blocking_the_loop(ctx: ToolContext) -> None:
    release = threading.Event()

    @tool(timeout=0.2)
    def stuck() -> str:
        release.wait(5)
        return "late"

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        outcome = await stuck.run("{}", ctx)
    finally:
        ticking.cancel()
        release.set()
    assert outcome == ToolOutcome("Error: tool stuck timed out after 0.2 s", True, {})
    assert ticks > 3  # the loop kept running while the thread was stuck


async def test_slow_async_tool_times_out_and_is_cancelled(ctx: ToolContext) -> None:
    cancelled = asyncio.Event()

    @tool(timeout=0.2)
    async def sleepy(seconds: float) -> str:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "awake"

    outcome = await sleepy.run('{"seconds": 5}', ctx)
    assert outcome.content == "Error: tool sleepy timed out after 0.2 s"
    assert outcome.is_error
    assert cancelled.is_set()


async def test_a_timeout_error_raised_by_the_tool_is_a_failure_not_our_timeout(
    ctx: ToolContext,
) -> None:
    @tool(timeout=None)
    async def upstream() -> str:
        raise TimeoutError("the upstream API did not answer")

    outcome = await upstream.run("", ctx)
    assert outcome.content == (
        "Error: tool upstream failed: TimeoutError: the upstream API did not answer"
    )


async def test_model_retry_message_reaches_the_model_verbatim(ctx: ToolContext) -> None:
    @tool
    def lookup(user_id: int) -> str:
        raise ModelRetry(f"no user {user_id}; call list_users for valid ids")

    outcome = await lookup.run('{"user_id": 7}', ctx)
    assert outcome == ToolOutcome(
        "Error: no user 7; call list_users for valid ids", True, {"user_id": 7}
    )
    assert issubclass(ModelRetry, ToolError)


async def test_any_tool_error_is_passed_verbatim(ctx: ToolContext) -> None:
    class QuotaError(ToolError):
        pass

    @tool
    async def fetch() -> str:
        raise QuotaError("quota used up until 12:00 UTC")

    assert (await fetch.run("{}", ctx)).content == "Error: quota used up until 12:00 UTC"


async def test_other_exceptions_become_a_failure_with_type_and_message(ctx: ToolContext) -> None:
    @tool
    def explode(reason: str) -> str:
        raise ValueError(reason)

    @tool
    async def quiet() -> str:
        raise RuntimeError

    outcome = await explode.run('{"reason": "bad input"}', ctx)
    assert outcome == ToolOutcome(
        "Error: tool explode failed: ValueError: bad input", True, {"reason": "bad input"}
    )
    assert (await quiet.run("{}", ctx)).content == "Error: tool quiet failed: RuntimeError"


async def test_cancellation_propagates(ctx: ToolContext) -> None:
    started = asyncio.Event()

    @tool
    async def forever() -> str:
        started.set()
        await asyncio.sleep(30)
        return "never"

    task = asyncio.create_task(forever.run("{}", ctx))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- run: results --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text", "plain text"),
        ({"city": "Zürich", "n": [1, 2]}, '{"city": "Zürich", "n": [1, 2]}'),
        (Point(x=3), '{"x":3,"title":"origin"}'),
        (Reading("t1", 21.5), '{"sensor": "t1", "value": 21.5}'),
        (None, "null"),
        (42, "42"),
        (
            {"when": date(2026, 1, 2), "at": Point(x=1)},
            '{"when": "2026-01-02", "at": {"x": 1, "title": "origin"}}',
        ),
    ],
    ids=["str", "dict", "pydantic", "dataclass", "none", "int", "nested"],
)
async def test_results_are_serialised_for_the_model(
    ctx: ToolContext, value: Any, content: str
) -> None:
    @tool
    async def give() -> Any:
        return value

    assert await give.run("{}", ctx) == ToolOutcome(content, False, {})


async def test_a_result_that_cannot_be_json_is_an_error_outcome(ctx: ToolContext) -> None:
    loop: list[Any] = []
    loop.append(loop)

    @tool
    def circular() -> list[Any]:
        return loop

    outcome = await circular.run("{}", ctx)
    assert outcome.is_error
    assert outcome.content.startswith("Error: tool circular returned a value that cannot be")


# -- the skill's explicit form --------------------------------------------------------

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


async def test_from_definition_runs_execute_with_the_arguments_dict(ctx: ToolContext) -> None:
    weather = Tool.from_definition(WEATHER, lambda args: {"city": args["city"], "temp": 21})
    assert weather.name == "get_weather"
    assert weather.definition() == WEATHER
    outcome = await weather.run('{"city": "Oslo", "units": "C"}', ctx)
    assert outcome == ToolOutcome(
        '{"city": "Oslo", "temp": 21}', False, {"city": "Oslo", "units": "C"}
    )
    assert weather({"city": "Rome"}) == {"city": "Rome", "temp": 21}


async def test_from_definition_accepts_the_inner_form_and_async_execute(ctx: ToolContext) -> None:
    async def execute(args: dict[str, Any]) -> str:
        return "sunny in " + str(args.get("city", "?"))

    weather = Tool.from_definition({"name": "weather"}, execute)
    assert weather.definition() == {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
    }
    assert (await weather.run('{"city": "Lima"}', ctx)).content == "sunny in Lima"


async def test_from_definition_checks_required_keys_and_json(ctx: ToolContext) -> None:
    weather = Tool.from_definition(WEATHER, lambda args: "never")
    missing = await weather.run("{}", ctx)
    assert missing.content == "Error: invalid arguments for get_weather: city: Field required"
    broken = await weather.run("city=Oslo", ctx)
    assert broken.content.startswith("Error: arguments are not valid JSON")


@pytest.mark.parametrize(
    "definition",
    [
        {"type": "function"},
        {"type": "function", "function": {"description": "no name"}},
        {"name": ""},
        {"name": "bad name!"},
        {"name": "x", "parameters": {"type": "array"}},
        {"name": "x", "parameters": {"type": "object", "required": "city"}},
        {"name": "x", "description": 3},
        ["not", "a", "mapping"],
    ],
)
def test_malformed_definitions_are_user_errors(definition: Any) -> None:
    with pytest.raises(UserError):
        Tool.from_definition(definition, lambda args: None)


def test_as_tool_accepts_every_supported_form() -> None:
    def echo(text: str) -> str:
        return text

    existing = tool(echo)
    assert as_tool(existing) is existing
    wrapped = as_tool(echo)
    assert wrapped.name == "echo"
    assert wrapped.parameters["required"] == ["text"]
    seeded = as_tool({"definition": WEATHER, "execute": lambda args: "ok"})
    assert seeded.name == "get_weather"


@pytest.mark.parametrize("obj", [42, "calculate", Point, {"definition": WEATHER}])
def test_as_tool_rejects_anything_else(obj: Any) -> None:
    with pytest.raises(UserError):
        as_tool(obj)


# -- collections of tools ------------------------------------------------------------


def test_tool_definitions_keep_order() -> None:
    first = Tool.from_definition({"name": "a"}, lambda args: None)
    second = Tool.from_definition({"name": "b"}, lambda args: None)
    assert [d["function"]["name"] for d in tool_definitions([second, first])] == ["b", "a"]


def test_duplicate_names_are_user_errors() -> None:
    first = Tool.from_definition({"name": "a"}, lambda args: None)
    twin = tool(name="a")(lambda: None)
    other = Tool.from_definition({"name": "b"}, lambda args: None)
    check_unique_names([first, other])
    with pytest.raises(UserError, match=r"duplicate tool names: 'a' \(2 tools\)"):
        check_unique_names([first, other, twin])


class Strict(BaseModel):
    code: str

    @field_validator("code")
    @classmethod
    def known(cls, value: str) -> str:
        if value == "boom":
            raise LookupError("validator crashed")
        if value == "retry":
            raise ModelRetry("codes are upper case, e.g. 'ABC'")
        return value


async def test_exceptions_from_user_validators_still_become_outcomes(ctx: ToolContext) -> None:
    @tool
    def check(item: Strict) -> str:
        return item.code

    crashed = await check.run('{"item": {"code": "boom"}}', ctx)
    assert crashed.content == "Error: tool check failed: LookupError: validator crashed"
    retried = await check.run('{"item": {"code": "retry"}}', ctx)
    assert retried.content == "Error: codes are upper case, e.g. 'ABC'"
    assert (await check.run('{"item": {"code": "ABC"}}', ctx)).content == "ABC"


async def test_arguments_of_the_wrong_python_type_are_an_error_outcome(ctx: ToolContext) -> None:
    outcome = await calculate.run(None, ctx)  # type: ignore[arg-type]
    assert outcome.content.startswith("Error: arguments must be JSON text, not NoneType")


def test_definition_is_a_copy_callers_may_change() -> None:
    definition = calculate.definition()
    definition["function"]["parameters"]["properties"].clear()
    assert "expression" in calculate.parameters["properties"]


def test_a_tool_can_be_renamed_by_wrapping_it_again() -> None:
    renamed = tool(name="calc2", timeout=1)(calculate)
    assert renamed.name == "calc2"
    assert renamed.parameters == calculate.parameters
    assert renamed.function is calculate.function

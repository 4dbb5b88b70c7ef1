"""The tools that ship with the agent: clock, calculator and web search.

`get_current_time` and `calculate` wrap `clock.py` and `calculator.py`; their errors are
`ToolError`s, so the model reads their messages verbatim ("Error: division by zero at
position 3"). `web_search` asks a search-capable gateway model (`enable_search`), since
on AllToken only the DeepSeek and Qwen families really search (docs/wire-format.md §1.11).
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from alltoken_agent.agent._function_schema import Binder, describe_function
from alltoken_agent.agent._tool_definitions import parse_docstring
from alltoken_agent.agent.tools import ModelRetry, Tool, ToolContext
from alltoken_agent.errors import UserError

if TYPE_CHECKING:
    from decimal import Decimal

SEARCH_MODEL = "qwen3.6-flash"
"""Model `web_search` asks unless built with another; read at call time, so it can be set.

A Qwen model because Qwen and DeepSeek search on AllToken, while other families ignore
`enable_search`, refuse or fail (docs/wire-format.md §1.11); Flash because it is cheap.
"""

SEARCH_TIMEOUT: Final = 120.0
"""Seconds a web search may take: a search adds 6-15 s, and the gateway may retry."""

SEARCH_MAX_TOKENS: Final = 800
"""Length cap of the search model's answer."""

_SEARCH_INSTRUCTIONS: Final = (
    "You are a web search assistant for another AI agent. Search the web for the query, "
    "then answer in a few sentences with the key facts, dates and numbers, and end with a "
    "list of sources (title and URL). If the search finds nothing reliable, say so plainly."
)


def _current_time(timezone: str = "UTC") -> dict[str, str]:
    """Get the current date and time in an IANA time zone.

    Args:
        timezone: An IANA time zone name such as "Asia/Tokyo" or "America/New_York"
            (case-insensitive), or "UTC". Empty or missing means UTC.

    Returns:
        `time` (the en-US local date and time, e.g. "12/6/2026, 4:05:46 PM"), `timezone`
        (the IANA name), `iso` (ISO 8601 with the UTC offset) and `weekday`.
    """
    # The AllToken agent skill's tool answers {time, timezone} with an en-US time;
    # programs written against it read those two fields (docs/wire-format.md §0, SKILL-AT).
    from alltoken_agent.agent import clock  # the zone database's helpers: on the first call

    return clock.current_time(timezone)


def _calculate(expression: str) -> dict[str, object]:
    """Evaluate an arithmetic expression and return the result.

    Supports `+`, `-`, `*`, `/`, `%` (modulo; a non-zero result takes the sign of the
    divisor, as in Python), `^` or `**` (power, right-associative: `2^3^2` is 512 and
    `-2^2` is -4), unary minus and plus, parentheses and decimal numbers such as `3.5` or
    `.5`. Arithmetic is exact decimal with 50 significant digits, so `0.1 + 0.2` is `0.3`;
    non-integer results have 16 significant digits. Variables, functions and scientific
    notation are not supported.

    Args:
        expression: The arithmetic expression to evaluate, e.g. `(1250 * 1.2) / 7`.

    Returns:
        `expression` as given and `result`, a number.
    """
    from alltoken_agent.agent import calculator  # its parser: on the first call

    value = calculator.evaluate(expression)
    return {"expression": expression, "result": _json_number(value)}


def _json_number(value: Decimal) -> int | float | str:
    from alltoken_agent.agent import calculator

    # An int for exact integers; else a float of the 16 digits `format_result` shows. JSON
    # has no number beyond a float's range (1e308), so such results stay text.
    text = calculator.format_result(value)
    if value == value.to_integral_value() and value.adjusted() < calculator.PRECISION:
        return int(value)
    number = float(text)
    return number if math.isfinite(number) and (number != 0 or value.is_zero()) else text


def make_web_search(model: str | None = None) -> Tool:
    """Build a `web_search` tool that asks `model` (or `SEARCH_MODEL` at call time).

    Args:
        model: A gateway model that honours `enable_search`, e.g. "deepseek-v3.2"; None
            follows the module's `SEARCH_MODEL`.

    Returns:
        The tool, named `web_search`.
    """

    async def web_search(query: str, ctx: ToolContext) -> str:
        """Search the web for current information and return a short answer with sources.

        Args:
            query: What to find out, as a question or keywords, e.g. "latest Python
                release and its date".
            ctx: The call's context, whose gateway runs the search (not shown to the model).
        """
        if not query.strip():
            raise ModelRetry("the search query is empty; say what to search for")
        result = await ctx.gateway.chat(
            [
                {"role": "system", "content": _SEARCH_INSTRUCTIONS},
                {"role": "user", "content": query},
            ],
            model=model or SEARCH_MODEL,
            enable_search=True,
            max_tokens=SEARCH_MAX_TOKENS,
        )
        if not result.text.strip():
            raise ModelRetry("the web search returned no answer; try a different query")
        return result.text

    return Tool(web_search, timeout=SEARCH_TIMEOUT)


# The tools are built on first use, not at import: describing a function builds its
# arguments' pydantic model (and, the first time, pydantic's plugin scan), which
# `chat --tools none`, the server's schemas and `alltoken_agent.agent` never need.
# `from alltoken_agent.agent.builtin_tools import calculate` builds just that one, once
# (PEP 562); type checkers read the declarations below.
if TYPE_CHECKING:
    get_current_time: Tool
    """The clock tool: `{"time", "timezone", "iso", "weekday"}` for an IANA time zone."""

    calculate: Tool
    """The calculator tool: `{"expression", "result"}`, exact decimal arithmetic, never `eval`."""

    web_search: Tool
    """The web search tool, asking `SEARCH_MODEL`."""

    BUILTIN_TOOLS: dict[str, Tool]
    """Every built-in tool by name."""


def _local_tool(function: Callable[..., Any], name: str, arguments: dict[str, Any]) -> Tool:
    """``Tool(function, name=name, timeout=10.0)`` with its schema written out beforehand.

    ``Tool()`` builds a pydantic model of the function's arguments (and, the first time,
    runs pydantic's plugin scan): about 15 ms of CPU for the two default tools, spent
    before every ``chat`` request. Here ``arguments`` holds each parameter's schema as
    that model writes it, less the description, which comes from the docstring as
    ``Tool()`` takes it; the model is built on the tool's first call, for that call's
    validation. tests/agent/test_builtin_tool_schemas.py pins the schema, the
    description and the validation errors to ``Tool()``'s.
    """
    docstring = parse_docstring(inspect.getdoc(function))
    properties = {
        param: {**schema, "description": docstring.params[param]}
        for param, schema in arguments.items()
    }
    for param, schema in properties.items():
        # Alphabetical, as pydantic writes these keys (default, description, type): the
        # same bytes in every request.
        properties[param] = {key: schema[key] for key in sorted(schema)}
    required = [param for param, schema in arguments.items() if "default" not in schema]
    built = Tool.__new__(Tool)
    functools.update_wrapper(built, function)
    built._setup(
        function,
        name=name,
        description=docstring.description,
        parameters={"type": "object", "properties": properties, "required": required},
        binder=_FirstCallBinder(function, name, docstring.params),
        timeout=10.0,
        requires_approval=False,
        # ``arguments`` names every parameter, so none is a ToolContext: the agent builds
        # none for these calls (tests/agent/test_tool_context_on_demand.py checks it).
        takes_context=False,
    )
    return built


class _FirstCallBinder:
    """The binder ``Tool()`` would make (pydantic's validator), made on the first call."""

    def __init__(self, function: Callable[..., Any], name: str, docs: Mapping[str, str]) -> None:
        self._function = function
        self._name = name
        self._docs = docs
        self._bind: Binder[ToolContext] | None = None

    def __call__(
        self, arguments: dict[str, Any], context: ToolContext
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self._bind is None:
            _, self._bind, _ = describe_function(
                self._function, self._name, self._docs, {}, ToolContext
            )
        return self._bind(arguments, context)


_BUILDERS: Final[dict[str, Callable[[], Tool]]] = {
    "get_current_time": lambda: _local_tool(
        _current_time, "get_current_time", {"timezone": {"default": "UTC", "type": "string"}}
    ),
    "calculate": lambda: _local_tool(_calculate, "calculate", {"expression": {"type": "string"}}),
    "web_search": make_web_search,
}
"""Each built-in tool's name -> how it is built (its name is the tool's own)."""

_BUILDING = threading.Lock()
"""One instance per tool, whichever thread asks first."""

DEFAULT_TOOL_NAMES: Final = ("get_current_time", "calculate")
"""The tools an agent gets when none are chosen: free, local and fast."""


def _builtin(name: str) -> Tool:
    """The built-in tool ``name``, built the first time it is asked for."""
    built = globals().get(name)
    if isinstance(built, Tool):
        return built
    with _BUILDING:
        built = globals().get(name)
        if not isinstance(built, Tool):
            built = globals()[name] = _BUILDERS[name]()
    return built


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Build a built-in tool (or the table of them) on first use."""
        if name in _BUILDERS:
            return _builtin(name)
        if name == "BUILTIN_TOOLS":
            table = globals().setdefault(
                "BUILTIN_TOOLS", {tool: _builtin(tool) for tool in _BUILDERS}
            )
            return table
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        """The module's names, the tools not built yet among them."""
        return sorted({*globals(), *_BUILDERS, "BUILTIN_TOOLS"})


def resolve_tool_names(spec: str) -> list[Tool]:
    """Turn the CLI's `--tools` value into built-in tools.

    Args:
        spec: `default`, `none` (or empty), or comma-separated names; `default` may appear
            among names (`default,web_search`). Case and spaces around names are ignored;
            repeats count once.

    Returns:
        The tools, in the order named.

    Raises:
        UserError: A name is not a built-in tool; the message lists the known ones.
    """
    names: list[str] = []
    for part in spec.split(","):
        word = part.strip().lower()
        if not word or word == "none":
            continue
        names.extend(DEFAULT_TOOL_NAMES if word == "default" else (word,))
    unknown = [name for name in names if name not in _BUILDERS]
    if unknown:
        raise UserError(
            f"unknown tool {', '.join(map(repr, unknown))}; known tools: "
            f"{', '.join(sorted(_BUILDERS))} (or 'default', 'none')"
        )
    return [_builtin(name) for name in dict.fromkeys(names)]

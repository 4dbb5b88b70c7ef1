"""Tools: typed Python functions the model can call, with schemas, validation and outcomes.

`@tool` turns a sync or async function into a `Tool`: the JSON schema of its parameters
comes from the type hints (through pydantic, see `_function_schema`) and the descriptions
from the docstring. `Tool.run` takes the model's JSON arguments, validates them, calls the
function under a timeout and always returns a `ToolOutcome`: a bad call, a timeout or a
crash becomes an error result the model can read and act on, never an exception in the
agent loop.

This module is the front door (`tool`, `as_tool`, and the names below in `__all__`); the
`Tool` class lives in `function_tool`, arguments and outcomes in `tool_messages`, and
the AllToken agent skill's explicit definition form in `_tool_definitions`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, overload

from alltoken_agent.agent._function_schema import caller_namespace
from alltoken_agent.agent.function_tool import DEFAULT_TIMEOUT, Tool, ToolContext
from alltoken_agent.agent.tool_messages import (
    ERROR_PREFIX,
    ModelRetry,
    ToolOutcome,
    serialize_result,
)
from alltoken_agent.errors import UserError

__all__ = [
    "DEFAULT_TIMEOUT",
    "ERROR_PREFIX",
    "ModelRetry",
    "Tool",
    "ToolContext",
    "ToolOutcome",
    "as_tool",
    "check_unique_names",
    "serialize_result",
    "tool",
    "tool_definitions",
]


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    requires_approval: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    requires_approval: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function into a `Tool`; use bare (`@tool`) or with options.

    Example:
        ```python
        @tool(timeout=5)
        async def weather(city: str, unit: Literal["C", "F"] = "C") -> str:
            ...  # description and parameter texts come from the docstring
        ```

    Args:
        func: The function, when used bare.
        name: The tool name; defaults to the function's name.
        description: Overrides the docstring's description.
        timeout: Seconds a call may take, or None for no limit.
        requires_approval: Whether a person must approve each call.

    Returns:
        The tool, or a decorator making one.

    Raises:
        UserError: The function cannot be described (see `Tool`).
    """
    if func is not None:
        return Tool(func, namespace=caller_namespace())

    def decorate(function: Callable[..., Any]) -> Tool:
        return Tool(
            function,
            name=name,
            description=description,
            timeout=timeout,
            requires_approval=requires_approval,
            namespace=caller_namespace(),
        )

    return decorate


def as_tool(obj: Any) -> Tool:
    """Accept any supported tool form and return a `Tool`.

    Args:
        obj: A `Tool`, a plain function (wrapped with `tool`), or the AllToken agent skill's mapping
            `{"definition": ..., "execute": ...}`.

    Returns:
        The tool.

    Raises:
        UserError: `obj` is none of these, or cannot be described.
    """
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, Mapping):
        if "definition" not in obj or "execute" not in obj:
            raise UserError(
                "a tool given as a mapping needs 'definition' and 'execute' keys, got "
                f"{sorted(map(str, obj))}"
            )
        return Tool.from_definition(obj["definition"], obj["execute"])
    if callable(obj) and not inspect.isclass(obj):
        return Tool(obj, namespace=caller_namespace())
    raise UserError(
        f"cannot use {type(obj).__name__} {obj!r} as a tool: pass a function, a Tool or "
        "{'definition': ..., 'execute': ...}"
    )


def tool_definitions(tools: Iterable[Tool]) -> list[dict[str, Any]]:
    """The OpenAI definitions of `tools`, in order, for a request's `tools` field."""
    return [item.definition() for item in tools]


def check_unique_names(tools: Iterable[Tool]) -> None:
    """Make sure no two tools share a name.

    Raises:
        UserError: Some name is used twice; the message names every duplicate.
    """
    seen: dict[str, int] = {}
    for item in tools:
        seen[item.name] = seen.get(item.name, 0) + 1
    duplicates = [f"{name!r} ({count} tools)" for name, count in seen.items() if count > 1]
    if duplicates:
        raise UserError(
            f"duplicate tool names: {', '.join(duplicates)}; pass name= to tool() to rename one"
        )

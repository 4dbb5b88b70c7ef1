"""Tools: typed Python functions the model can call, with schemas, validation and outcomes.

`@tool` turns a sync or async function into a `Tool`: the JSON schema of its parameters
comes from the type hints (through pydantic, see `_function_schema`) and the descriptions
from the docstring. `Tool.run` takes the model's JSON arguments, validates them, calls the
function under a timeout and always returns a `ToolOutcome`: a bad call, a timeout or a
crash becomes an error result the model can read and act on, never an exception in the
agent loop.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, overload

import pydantic

from alltoken_agent.agent._function_schema import (
    Binder,
    InvalidArgumentsError,
    caller_namespace,
    describe_function,
    unwrap_partial,
)
from alltoken_agent.agent.docstrings import parse_docstring
from alltoken_agent.errors import ToolError, UserError
from alltoken_agent.gateway import Gateway

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds a tool call may take unless the tool says otherwise."""

ERROR_PREFIX: Final = "Error: "
"""Starts the content of every error outcome, so models recognise a failed call."""

_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Tool names the OpenAI function-calling schema accepts."""


@dataclass(frozen=True)
class ToolContext:
    """What a tool may know about the call it serves.

    A tool function receives it through any parameter annotated `ToolContext`; that
    parameter is left out of the JSON schema the model sees.
    """

    gateway: Gateway
    """The agent's gateway, for tools that call a model themselves."""
    model: str
    """The model the agent is currently running."""
    call_id: str
    """The id of the model's tool call."""
    step: int
    """The step of the tool loop the call belongs to, from 1."""


class ModelRetry(ToolError):
    """Raised by a tool to make the model try again; the message reaches the model verbatim.

    Example:
        ```python
        @tool
        def lookup(user_id: int) -> str:
            if user_id not in USERS:
                raise ModelRetry(f"no user {user_id}; call list_users for valid ids")
            return USERS[user_id]
        ```
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        """What the model is told."""


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one tool call, as it goes back to the model."""

    content: str
    """The tool message content; starts with `Error: ` when `is_error`."""
    is_error: bool
    """Whether the call failed (bad arguments, timeout, retry request or crash)."""
    arguments: Any
    """The parsed arguments dict when the JSON parsed, else the raw text as received."""


class Tool:
    """A function the model can call, with its JSON schema and a safe `run`.

    Build one with `@tool`, `Tool(function)`, `Tool.from_definition` or `as_tool`. The
    tool stays callable like the function it wraps.

    Attributes:
        name: The name the model calls the tool by.
        description: What the tool does, for the model.
        parameters: JSON schema of the arguments object.
        timeout: Seconds a call may take, or None for no limit.
        requires_approval: Whether a person must approve each call before it runs.
        function: The wrapped callable.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    timeout: float | None
    requires_approval: bool
    function: Callable[..., Any]
    __name__: str
    __wrapped__: Callable[..., Any]
    _bind: Binder[ToolContext]

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        requires_approval: bool = False,
        namespace: Mapping[str, Any] | None = None,
    ) -> None:
        """Describe `function` from its signature and docstring.

        Args:
            function: A sync or async callable whose parameters all have names (no
                `*args` or `**kwargs`).
            name: The tool name; defaults to the function's `__name__`.
            description: Overrides the docstring's description.
            timeout: Seconds a call may take, or None for no limit.
            requires_approval: Whether a person must approve each call.
            namespace: Extra names for resolving postponed annotations, such as types
                defined inside the function that applies `@tool`; `tool` passes its
                caller's locals.

        Raises:
            UserError: The function cannot be described: `*args`/`**kwargs`, an
                annotation that does not resolve, a type pydantic cannot handle, or a bad
                name or timeout.
        """
        if isinstance(function, Tool):
            function = function.function  # re-describe the original, e.g. under a new name
        described = unwrap_partial(function)
        tool_name = name if name is not None else getattr(described, "__name__", None)
        if not isinstance(tool_name, str):
            raise UserError(f"{function!r} has no __name__; pass name= to tool()")
        docstring = parse_docstring(inspect.getdoc(described))
        parameters, binder = describe_function(
            function, tool_name, docstring.params, namespace or {}, ToolContext
        )
        functools.update_wrapper(self, function)
        self._setup(
            function,
            name=tool_name,
            description=docstring.description if description is None else description,
            parameters=parameters,
            binder=binder,
            timeout=timeout,
            requires_approval=requires_approval,
        )

    @classmethod
    def from_definition(
        cls,
        definition: Mapping[str, Any],
        execute: Callable[[dict[str, Any]], Any],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        requires_approval: bool = False,
    ) -> Tool:
        """Build a tool from an explicit OpenAI definition and an `execute(args)` callable.

        The seed's form. Arguments are parsed as a JSON object and the keys the schema
        lists as `required` must be present; no other validation happens.

        Args:
            definition: `{"type": "function", "function": {name, description?,
                parameters?}}` or just the inner `{name, description?, parameters?}`.
            execute: Called with the arguments dict; sync or async.
            timeout: Seconds a call may take, or None for no limit.
            requires_approval: Whether a person must approve each call.

        Returns:
            The tool.

        Raises:
            UserError: The definition is malformed or `execute` is not callable.
        """
        inner = _inner_definition(definition)
        if not callable(execute):
            raise UserError(f"execute for tool {inner['name']!r} is not callable")
        parameters = inner.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}, "required": []}
        required = [str(key) for key in parameters.get("required") or ()]
        self = cls.__new__(cls)
        functools.update_wrapper(self, execute)
        self._setup(
            execute,
            name=inner["name"],
            description=inner.get("description") or "",
            parameters=copy.deepcopy(dict(parameters)),
            binder=_definition_binder(inner["name"], required),
            timeout=timeout,
            requires_approval=requires_approval,
        )
        return self

    def _setup(
        self,
        function: Callable[..., Any],
        *,
        name: str,
        description: str,
        parameters: dict[str, Any],
        binder: Binder[ToolContext],
        timeout: float | None,
        requires_approval: bool,
    ) -> None:
        if not _NAME.match(name):
            raise UserError(
                f"invalid tool name {name!r}: use 1-64 letters, digits, '_' or '-' "
                "(pass name= to choose another)"
            )
        if timeout is not None and not timeout > 0:
            raise UserError(f"timeout of tool {name!r} must be positive or None, not {timeout!r}")
        if not isinstance(description, str):
            raise UserError(f"description of tool {name!r} must be a string")
        self.function = function
        self.name = name
        self.description = description
        self.parameters = parameters
        self.timeout = timeout
        self.requires_approval = requires_approval
        self._bind = binder
        self._is_async = _is_async(function)
        self._wire: dict[str, Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly, as if it had not been decorated."""
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, timeout={self.timeout!r})"

    def definition(self) -> dict[str, Any]:
        """The OpenAI function-calling definition sent in a request's `tools`."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = copy.deepcopy(self.parameters)
        return {"type": "function", "function": function}

    def wire_definition(self) -> dict[str, Any]:
        """``definition()`` built once and shared: for sending only, never to mutate."""
        if self._wire is None:
            self._wire = self.definition()
        return self._wire

    async def run(self, arguments: str | Mapping[str, Any], context: ToolContext) -> ToolOutcome:
        """Parse, validate and execute one call; every failure becomes an error outcome.

        Args:
            arguments: The model's JSON arguments text (blank counts as `{}`), or an
                already parsed mapping.
            context: The call's context, handed to a `ToolContext` parameter.

        Returns:
            The outcome; never raises except `asyncio.CancelledError` (and process
            signals such as `KeyboardInterrupt`). A timed-out sync function keeps running
            in its worker thread until it returns; its result is discarded.
        """
        try:
            parsed = _parse_arguments(arguments)
        except InvalidArgumentsError as exc:
            return _error(str(exc), arguments)
        try:
            args, kwargs = self._bind(parsed, context)
        except InvalidArgumentsError as exc:
            return _error(f"invalid arguments for {self.name}: {exc}", parsed)
        except Exception as exc:  # a user validator that raised something pydantic does not wrap
            return _error(_describe_failure(self.name, exc), parsed)
        try:
            if _TIMEOUT_CM is not None:
                # No extra task (unlike wait_for): the call runs in this task.
                async with _TIMEOUT_CM(self.timeout):
                    ok, value = await self._call(args, kwargs)
            else:
                ok, value = await asyncio.wait_for(self._call(args, kwargs), self.timeout)
        except asyncio.TimeoutError:
            return _error(f"tool {self.name} timed out after {self.timeout:g} s", parsed)
        if not ok:
            return _error(_describe_failure(self.name, value), parsed)
        try:
            return ToolOutcome(content=serialize_result(value), is_error=False, arguments=parsed)
        except Exception as exc:
            return _error(
                f"tool {self.name} returned a value that cannot be serialised to JSON: {exc}",
                parsed,
            )

    async def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
        # Failures come back as values so that a TimeoutError raised by the tool itself is
        # never mistaken for our own timeout by `asyncio.wait_for`.
        try:
            if self._is_async:
                value = await self.function(*args, **kwargs)
            else:
                value = await asyncio.to_thread(self.function, *args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            return False, exc
        return True, value


# asyncio.timeout (3.11+) times out the current task in place.
_TIMEOUT_CM: Any = getattr(asyncio, "timeout", None)


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
        obj: A `Tool`, a plain function (wrapped with `tool`), or the seed's mapping
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


def serialize_result(value: Any) -> str:
    """Render a tool's return value as the tool message content.

    Strings pass unchanged; pydantic models use `model_dump_json()`; dataclasses,
    dicts, lists and other values become JSON (non-ASCII kept, unknown types via `str`);
    None is `null`.

    Raises:
        ValueError: The value cannot be made JSON, e.g. it contains itself.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


def _error(message: str, arguments: Any) -> ToolOutcome:
    return ToolOutcome(content=ERROR_PREFIX + message, is_error=True, arguments=arguments)


def _describe_failure(name: str, exc: BaseException) -> str:
    if isinstance(exc, ToolError):
        # ModelRetry and every ToolError (CalculationError, UnknownTimezoneError, ...) are
        # written for the model, so their text goes through untouched.
        return str(exc) or f"tool {name} failed"
    detail = str(exc)
    kind = type(exc).__name__
    return f"tool {name} failed: {kind}: {detail}" if detail else f"tool {name} failed: {kind}"


def _parse_arguments(arguments: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not isinstance(arguments, str):
        raise InvalidArgumentsError(
            f"arguments must be JSON text, not {type(arguments).__name__}; send one JSON object"
        )
    if not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentsError(
            f"arguments are not valid JSON: {exc}; send one JSON object"
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidArgumentsError(
            f"arguments must be a JSON object, not {_json_kind(parsed)}; send one JSON object"
        )
    return parsed


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null"


def _is_async(function: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(function, "__call__", None)  # noqa: B004 - callable objects
    return call is not None and inspect.iscoroutinefunction(call)


def _inner_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(definition, Mapping):
        raise UserError(f"a tool definition must be a mapping, not {type(definition).__name__}")
    inner = definition.get("function", definition) if "name" not in definition else definition
    if not isinstance(inner, Mapping):
        raise UserError("a tool definition's 'function' must be a mapping")
    name = inner.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(
            "a tool definition needs a non-empty 'name': "
            '{"type": "function", "function": {"name": ..., "parameters": {...}}}'
        )
    description = inner.get("description")
    if description is not None and not isinstance(description, str):
        raise UserError(f"description of tool {name!r} must be a string")
    parameters = inner.get("parameters")
    if parameters is not None and (
        not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object"
    ):
        raise UserError(
            f"parameters of tool {name!r} must be a JSON schema of type 'object', "
            f"got {parameters!r}"
        )
    required = (parameters or {}).get("required")
    if required is not None and (
        not isinstance(required, list) or not all(isinstance(key, str) for key in required)
    ):
        raise UserError(f"'required' of tool {name!r} must be a list of property names")
    return dict(inner)


def _definition_binder(name: str, required: list[str]) -> Binder[ToolContext]:
    def bind(
        arguments: dict[str, Any], context: ToolContext
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        missing = [key for key in required if key not in arguments]
        if missing:
            raise InvalidArgumentsError("; ".join(f"{key}: Field required" for key in missing))
        return (arguments,), {}

    return bind

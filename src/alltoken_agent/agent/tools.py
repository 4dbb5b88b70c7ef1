"""Tools: typed Python functions the model can call, with schemas, validation and outcomes.

`@tool` turns a sync or async function into a `Tool`: the JSON schema of its parameters
comes from the type hints (through pydantic) and the descriptions from the docstring,
after pydantic-ai's `_function_schema.py`. `Tool.run` takes the model's JSON arguments,
validates them, calls the function under a timeout and always returns a `ToolOutcome`:
a bad call, a timeout or a crash becomes an error result the model can read and act on,
never an exception in the agent loop.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol, overload

import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from alltoken_agent.agent.docstrings import parse_docstring
from alltoken_agent.errors import ToolError, UserError
from alltoken_agent.gateway import Gateway

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds a tool call may take unless the tool says otherwise."""

ERROR_PREFIX: Final = "Error: "
"""Starts the content of every error outcome, so models recognise a failed call."""

_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Tool names the OpenAI function-calling schema accepts."""

_MAX_REPORTED_ERRORS: Final = 10
"""Validation errors listed in one outcome; the rest are counted."""

_SCHEMA_DATA_KEYS: Final = frozenset({"default", "const", "enum", "examples", "example"})
"""JSON-schema keys whose values are data, not schemas: a `title` inside them stays."""

_SCHEMA_NAME_KEYS: Final = frozenset({"properties", "$defs", "definitions", "patternProperties"})
"""JSON-schema keys whose values map names (which may be `title`) to schemas."""


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


class _Binder(Protocol):
    def __call__(
        self, arguments: dict[str, Any], context: ToolContext
    ) -> tuple[tuple[Any, ...], dict[str, Any]]: ...


class _InvalidArgumentsError(Exception):
    """Arguments parsed but do not fit the tool; the message lists the problems."""


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
    _bind: _Binder

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
        described = _unwrap_partial(function)
        tool_name = name if name is not None else getattr(described, "__name__", None)
        if not isinstance(tool_name, str):
            raise UserError(f"{function!r} has no __name__; pass name= to tool()")
        docstring = parse_docstring(inspect.getdoc(described))
        parameters, binder = _describe_function(
            function, tool_name, docstring.params, namespace or {}
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
        binder: _Binder,
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
        except _InvalidArgumentsError as exc:
            return _error(str(exc), arguments)
        try:
            args, kwargs = self._bind(parsed, context)
        except _InvalidArgumentsError as exc:
            return _error(f"invalid arguments for {self.name}: {exc}", parsed)
        except Exception as exc:  # a user validator that raised something pydantic does not wrap
            return _error(_describe_failure(self.name, exc), parsed)
        try:
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
            if _is_async(self.function):
                value = await self.function(*args, **kwargs)
            else:
                value = await asyncio.to_thread(self.function, *args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            return False, exc
        return True, value


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
        return Tool(func, namespace=_caller_namespace())

    def decorate(function: Callable[..., Any]) -> Tool:
        return Tool(
            function,
            name=name,
            description=description,
            timeout=timeout,
            requires_approval=requires_approval,
            namespace=_caller_namespace(),
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
        return Tool(obj, namespace=_caller_namespace())
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
        raise _InvalidArgumentsError(
            f"arguments must be JSON text, not {type(arguments).__name__}; send one JSON object"
        )
    if not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise _InvalidArgumentsError(
            f"arguments are not valid JSON: {exc}; send one JSON object"
        ) from None
    if not isinstance(parsed, dict):
        raise _InvalidArgumentsError(
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


def _unwrap_partial(function: Callable[..., Any]) -> Callable[..., Any]:
    while isinstance(function, functools.partial):
        function = function.func
    return function


def _caller_namespace() -> dict[str, Any]:
    # The frame that applied `@tool`: two up from here (this helper, then `tool`,
    # `decorate` or `as_tool`). Its locals resolve postponed annotations of types defined
    # inside a function, as pydantic's `validate_call` does.
    return dict(sys._getframe(2).f_locals)


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


def _definition_binder(name: str, required: list[str]) -> _Binder:
    def bind(
        arguments: dict[str, Any], context: ToolContext
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        missing = [key for key in required if key not in arguments]
        if missing:
            raise _InvalidArgumentsError("; ".join(f"{key}: Field required" for key in missing))
        return (arguments,), {}

    return bind


def _describe_function(
    function: Callable[..., Any],
    name: str,
    docs: Mapping[str, str],
    namespace: Mapping[str, Any],
) -> tuple[dict[str, Any], _Binder]:
    """Build the parameters schema and the argument binder of a function."""
    if inspect.isclass(function):
        raise UserError(f"cannot make a tool of the class {function.__name__}; pass a function")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise UserError(f"cannot read the signature of {name}: {exc}") from None
    hints = _type_hints(function, name, namespace)
    fields: dict[str, Any] = {}
    context_params: list[inspect.Parameter] = []
    plain_params: list[tuple[inspect.Parameter, str]] = []
    for index, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            stars = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise UserError(
                f"tool {name} takes {stars}{param.name}, which cannot be described to a "
                "model; give every argument a name and a type"
            )
        annotation = hints.get(param.name, Any)
        if _is_context(annotation):
            context_params.append(param)
            continue
        # Fields get neutral names and the parameter name as alias, so parameters called
        # `json`, `schema` or `_private` do not clash with pydantic's BaseModel.
        field_name = f"p{index}"
        plain_params.append((param, field_name))
        fields[field_name] = (annotation, _field(param, annotation, docs.get(param.name)))
    try:
        model = pydantic.create_model(
            f"{name}_arguments",
            __config__=pydantic.ConfigDict(coerce_numbers_to_str=True),
            **fields,
        )
        schema = model.model_json_schema()
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
        reason = str(exc).split("\n\n")[0]  # pydantic appends paragraphs of generic advice
        raise UserError(f"cannot build the schema of tool {name}: {reason}") from None
    parameters = _parameters_schema(schema)

    def bind(
        arguments: dict[str, Any], context: ToolContext
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        try:
            validated = model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise _InvalidArgumentsError(_format_validation_error(exc)) from None
        values = {p.name: getattr(validated, field) for p, field in plain_params}
        values.update({p.name: context for p in context_params})
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in signature.parameters.values():
            if param.kind is param.POSITIONAL_ONLY:
                args.append(values[param.name])
            else:
                kwargs[param.name] = values[param.name]
        return tuple(args), kwargs

    return parameters, bind


def _type_hints(
    function: Callable[..., Any], name: str, namespace: Mapping[str, Any]
) -> dict[str, Any]:
    target = _unwrap_partial(function)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)  # noqa: B004 - callable objects
    localns = dict(namespace)
    try:
        return typing.get_type_hints(target, localns=localns, include_extras=True)
    except NameError:
        # `ToolContext` imported only under TYPE_CHECKING is the common case.
        localns.setdefault("ToolContext", ToolContext)
    try:
        return typing.get_type_hints(target, localns=localns, include_extras=True)
    except Exception as exc:
        raise UserError(
            f"cannot resolve the type hints of tool {name}: {exc}; import the types it "
            "uses at module level (not only under TYPE_CHECKING)"
        ) from None


def _is_context(annotation: Any) -> bool:
    """Whether a parameter asks for the context: `ToolContext`, optional or `Annotated`."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return len(members) == 1 and members[0] is ToolContext
    return annotation is ToolContext


def _field(param: inspect.Parameter, annotation: Any, doc: str | None) -> Any:
    options: dict[str, Any] = {"alias": param.name}
    if param.default is not param.empty:
        options["default"] = param.default
    if doc and not _has_description(annotation):
        options["description"] = doc
    default = options.pop("default", PydanticUndefined)
    return pydantic.Field(default, **options)


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not typing.Annotated:
        return False
    return any(
        isinstance(meta, FieldInfo) and meta.description for meta in typing.get_args(annotation)
    )


def _parameters_schema(schema: dict[str, Any]) -> dict[str, Any]:
    compact = _drop_titles(schema)
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": compact.get("properties", {}),
        "required": compact.get("required", []),
    }
    for key, value in compact.items():
        if key not in parameters:
            parameters[key] = value
    return parameters


def _drop_titles(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_DATA_KEYS:
            out[key] = value
        elif key in _SCHEMA_NAME_KEYS and isinstance(value, dict):
            out[key] = {name: _drop_titles(sub) for name, sub in value.items()}
        else:
            out[key] = _drop_titles(value)
    return out


def _format_validation_error(exc: pydantic.ValidationError) -> str:
    problems = []
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    for error in errors[:_MAX_REPORTED_ERRORS]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    if len(errors) > _MAX_REPORTED_ERRORS:
        problems.append(f"and {len(errors) - _MAX_REPORTED_ERRORS} more errors")
    return "; ".join(problems)

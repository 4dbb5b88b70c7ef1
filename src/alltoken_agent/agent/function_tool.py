"""The `Tool` class: a function the model can call, its JSON schema and a safe `run`.

The schema of a typed function comes from its signature (through pydantic, see
`_function_schema`) and its docstring; `Tool.run` parses and validates the model's
arguments, calls the function under the tool's timeout and always returns a
`ToolOutcome`.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import json
import re
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.agent._function_schema import (
    Binder,
    InvalidArgumentsError,
    describe_function,
    unwrap_partial,
)
from alltoken_agent.agent._tool_definitions import (
    definition_binder,
    inner_definition,
    parse_docstring,
)
from alltoken_agent.agent.tool_messages import (
    ToolOutcome,
    describe_failure,
    error_outcome,
    parse_tool_arguments,
    serialize_result,
)
from alltoken_agent.errors import UserError
from alltoken_agent.gateway import Gateway

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds a tool call may take unless the tool says otherwise."""

_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Tool names the OpenAI function-calling schema accepts."""


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class ToolContext(FrozenValue):
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

    def __init__(self, gateway: Gateway, model: str, call_id: str, step: int) -> None:
        fields = self.__dict__
        fields["gateway"] = gateway
        fields["model"] = model
        fields["call_id"] = call_id
        fields["step"] = step


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
        takes_context: Whether a parameter receives the call's `ToolContext` (else
            `run` needs none, and the agent builds none for the call).
        function: The wrapped callable.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    timeout: float | None
    requires_approval: bool
    takes_context: bool
    function: Callable[..., Any]
    __name__: str
    __wrapped__: Callable[..., Any]
    _bind: Binder[ToolContext | None]

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
        parameters, binder, takes_context = describe_function(
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
            takes_context=takes_context,
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

        The AllToken agent skill's form. Arguments are parsed as a JSON object and the keys
        the schema lists as `required` must be present; no other validation happens.

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
        inner = inner_definition(definition)
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
            binder=definition_binder(required),
            timeout=timeout,
            requires_approval=requires_approval,
            takes_context=False,  # execute(args) is handed the arguments alone
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
        takes_context: bool,
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
        self.takes_context = takes_context
        # The binder reads the context only for a parameter that takes it, so a tool
        # with none may be run with None.
        self._bind = cast("Binder[ToolContext | None]", binder)
        self._is_async = _is_async(function)
        self._wire: dict[str, Any] | None = None
        self._wire_length: int | None = None

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

    def wire_length(self) -> int:
        """``len(json.dumps(wire_definition()))``, measured once: what a request's schema costs."""
        if self._wire_length is None:
            self._wire_length = len(json.dumps(self.wire_definition()))
        return self._wire_length

    async def run(
        self, arguments: str | Mapping[str, Any], context: ToolContext | None
    ) -> ToolOutcome:
        """Parse, validate and execute one call; every failure becomes an error outcome.

        Args:
            arguments: The model's JSON arguments text (blank counts as `{}`), or an
                already parsed mapping.
            context: The call's context, handed to a `ToolContext` parameter; None will
                do for a tool that takes none (`takes_context` is False), which never
                reads it.

        Returns:
            The outcome; never raises except `asyncio.CancelledError` (and process
            signals such as `KeyboardInterrupt`). A timed-out sync function keeps running
            in its worker thread until it returns; its result is discarded.
        """
        if type(arguments) is dict:
            parsed = arguments  # what parse_tool_arguments answers for one, without the call
        else:
            try:
                parsed = parse_tool_arguments(arguments)
            except InvalidArgumentsError as exc:
                return error_outcome(str(exc), arguments)
        try:
            args, kwargs = self._bind(parsed, context)
        except InvalidArgumentsError as exc:
            return error_outcome(f"invalid arguments for {self.name}: {exc}", parsed)
        except Exception as exc:  # a user validator that raised something pydantic does not wrap
            return error_outcome(describe_failure(self.name, exc), parsed)
        try:
            if self.timeout is None:
                ok, value = await self._call(args, kwargs)  # no limit: no timer to arm
            elif _TIMEOUT_AT is not None:
                deadline = asyncio.get_running_loop().time() + self.timeout
                call = self._call(args, kwargs)
                try:
                    # The call's first step, up to its first wait: no timeout can stop it
                    # (a task is cancelled only where it waits), so no timer is armed for
                    # it, and a call that never waits (a lookup, a computation) arms none.
                    waiting = call.send(None)
                except StopIteration as finished:
                    ok, value = finished.value
                else:
                    # The rest under the deadline counted from the start, in this task
                    # (no extra task, unlike wait_for).
                    async with _TIMEOUT_AT(deadline):
                        ok, value = await _Resumed(call, waiting)
            else:
                ok, value = await asyncio.wait_for(self._call(args, kwargs), self.timeout)
        except asyncio.TimeoutError:
            return error_outcome(f"tool {self.name} timed out after {self.timeout:g} s", parsed)
        if not ok:
            return error_outcome(describe_failure(self.name, value), parsed)
        try:
            return ToolOutcome(serialize_result(value), False, parsed)
        except Exception as exc:
            return error_outcome(
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
            # A plain value is never awaitable: isawaitable's ABC check is skipped for it.
            if type(value) not in _PLAIN_RESULTS and inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            return False, exc
        return True, value


_PLAIN_RESULTS: Final = frozenset({str, dict, list, tuple, int, float, bool, type(None)})
"""Exact types of common tool results, none of them awaitable."""

# asyncio.timeout_at (3.11+) times out the current task in place.
_TIMEOUT_AT: Any = getattr(asyncio, "timeout_at", None)


class _Resumed:
    """Awaits the rest of a coroutine whose first step ran already and is ``waiting``.

    ``await _Resumed(coro, waiting)`` is ``await coro`` from its first wait on: what
    the first step waits for goes to the task, and whatever the task sends or throws
    (a result, a cancellation) goes on to the coroutine, as ``await`` passes them.
    """

    __slots__ = ("_coro", "_waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self._coro = coro
        self._waiting = waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting = self._coro, self._waiting
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation (or any throw) is the coroutine's
                try:
                    waiting = coro.throw(exc)
                except StopIteration as finished:
                    return finished.value
            else:
                try:
                    waiting = coro.send(sent)
                except StopIteration as finished:
                    return finished.value


def _is_async(function: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(function, "__call__", None)  # noqa: B004 - callable objects
    return call is not None and inspect.iscoroutinefunction(call)

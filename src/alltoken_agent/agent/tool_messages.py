"""What passes between the model and a tool: JSON arguments in, a tool message out.

Arguments are parsed strictly (one JSON object, blank meaning ``{}``); return values
are rendered as the tool message content; failures become ``Error: ...`` outcomes
written for the model to read and recover from.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Final

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.agent._function_schema import InvalidArgumentsError
from alltoken_agent.errors import ToolError
from alltoken_agent.gateway._payload import loads

ERROR_PREFIX: Final = "Error: "
"""Starts the content of every error outcome, so models recognise a failed call."""


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


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class ToolOutcome(FrozenValue):
    """The result of one tool call, as it goes back to the model."""

    content: str
    """The tool message content; starts with `Error: ` when `is_error`."""
    is_error: bool
    """Whether the call failed (bad arguments, timeout, retry request or crash)."""
    arguments: Any
    """The parsed arguments dict when the JSON parsed, else the raw text as received."""

    def __init__(self, content: str, is_error: bool, arguments: Any) -> None:
        fields = self.__dict__
        fields["content"] = content
        fields["is_error"] = is_error
        fields["arguments"] = arguments


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
    if type(value) not in _PLAIN_JSON:  # the common dict or list needs neither check
        if _is_model(value):
            return value.model_dump_json()  # type: ignore[no-any-return]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
    elif c_make_encoder is not None:
        # What _ENCODER.encode does for these, without its Python steps: a C encoder
        # with a new table of the containers being encoded (which finds a value that
        # contains itself), made with _ENCODER's settings in json.encoder's order.
        encode = c_make_encoder(
            {}, _json_default, encode_basestring, None, ": ", ", ", False, False, True
        )
        return "".join(encode(value, 0))
    return _ENCODER.encode(value)


def _is_model(value: Any) -> bool:
    """Whether ``value`` is a pydantic model (none exists before pydantic is imported)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _json_default(value: Any) -> Any:
    if _is_model(value):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


_ENCODER: Final = json.JSONEncoder(default=_json_default, ensure_ascii=False)
"""``json.dumps(value, default=_json_default, ensure_ascii=False)`` without building an
encoder for every call (dumps does whenever an option differs from its defaults)."""

_PLAIN_JSON: Final = frozenset({dict, list, tuple, int, float, bool, type(None)})
"""Types that are neither pydantic models nor dataclasses (exact types, not subclasses)."""


def error_outcome(message: str, arguments: Any) -> ToolOutcome:
    """An error outcome: ``message`` after the ``Error: `` prefix models recognise."""
    return ToolOutcome(content=ERROR_PREFIX + message, is_error=True, arguments=arguments)


def describe_failure(name: str, exc: BaseException) -> str:
    """What the model reads about a tool that raised ``exc``."""
    if isinstance(exc, ToolError):
        # ModelRetry and every ToolError (CalculationError, UnknownTimezoneError, ...) are
        # written for the model, so their text goes through untouched.
        return str(exc) or f"tool {name} failed"
    detail = str(exc)
    kind = type(exc).__name__
    return f"tool {name} failed: {kind}: {detail}" if detail else f"tool {name} failed: {kind}"


def parse_tool_arguments(arguments: str | Mapping[str, Any]) -> dict[str, Any]:
    """The model's arguments as a dict; blank text counts as ``{}``.

    Raises:
        InvalidArgumentsError: Not JSON, or JSON that is not an object; the message
            tells the model what to send instead.
    """
    if type(arguments) is dict:
        return arguments  # parsed for this call alone (or the caller's own): no copy
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not isinstance(arguments, str):
        raise InvalidArgumentsError(
            f"arguments must be JSON text, not {type(arguments).__name__}; send one JSON object"
        )
    if not arguments.strip():
        return {}
    try:
        parsed = loads(arguments)  # a model's JSON: lone surrogates made safe, as replies
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

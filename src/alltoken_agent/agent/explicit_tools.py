"""The AllToken agent skill's explicit tool form: an OpenAI definition and ``execute(args)``.

No signature to read here: the definition is checked for the shape OpenAI expects,
and calls only need the keys its schema lists as ``required``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alltoken_agent.agent._function_schema import Binder, InvalidArgumentsError
from alltoken_agent.errors import UserError


def inner_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The ``{name, description?, parameters?}`` part of a definition, checked.

    Raises:
        UserError: The definition is malformed; the message shows the expected shape.
    """
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


def definition_binder(required: list[str]) -> Binder[object]:
    """Hands ``execute`` the arguments dict once the ``required`` keys are there."""

    def bind(arguments: dict[str, Any], context: object) -> tuple[tuple[Any, ...], dict[str, Any]]:
        missing = [key for key in required if key not in arguments]
        if missing:
            raise InvalidArgumentsError("; ".join(f"{key}: Field required" for key in missing))
        return (arguments,), {}

    return bind

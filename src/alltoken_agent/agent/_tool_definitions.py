"""Where a tool's description comes from besides type hints: its docstring, or a definition.

A small docstring parser gives the description and per-parameter texts of a tool
function. Tool schemas take their description from the docstring text before the first
section and each parameter's description from the argument section. Google style is the
house style (`Args:` with `name (type): text` or `name: text` entries and indented
continuation lines); Sphinx field lists (`:param name: text`) and NumPy sections
(`Parameters` over a line of dashes) are understood too, since users bring their own
functions.

The AllToken agent skill's explicit tool form (an OpenAI definition and
`execute(args)`) has no signature to read: the definition is checked for the shape
OpenAI expects, and calls only need the keys its schema lists as `required`.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.agent._function_schema import Binder, InvalidArgumentsError
from alltoken_agent.errors import UserError

_GOOGLE_PARAM_SECTIONS: Final = frozenset(
    {
        "args",
        "arguments",
        "parameters",
        "params",
        "keyword args",
        "keyword arguments",
        "other parameters",
    }
)
_GOOGLE_SECTIONS: Final = _GOOGLE_PARAM_SECTIONS | frozenset(
    {
        "attributes",
        "example",
        "examples",
        "note",
        "notes",
        "raises",
        "references",
        "return",
        "returns",
        "see also",
        "todo",
        "warning",
        "warnings",
        "warns",
        "yield",
        "yields",
    }
)
_NUMPY_PARAM_SECTIONS: Final = frozenset({"parameters", "other parameters"})
# Patterns as text, matched with re.match (whose cache compiles each once, on first
# use): only describing a tool reads docstrings, and a run may describe none.
_NUMPY_UNDERLINE: Final = r"^\s*-{3,}\s*$"
_SPHINX_FIELD: Final = (
    r"^\s*:(?:param|parameter|arg|argument|key|keyword|type|returns?|rtype|raises?|"
    r"except|exception|yields?|ytype|var|ivar|cvar|meta)\b"
)
_SPHINX_PARAM: Final = (
    r"^\s*:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?\**(\w+)\s*:(.*)$"
)
_GOOGLE_ENTRY: Final = r"^\**(\w+)\s*(?:\([^)]*\))?\s*:(.*)$"
_NUMPY_ENTRY: Final = r"^(\**\w+(?:\s*,\s*\**\w+)*)\s*(?::.*)?$"


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Docstring(FrozenValue):
    """What a tool schema needs from a docstring."""

    description: str = ""
    """The text before the first section, stripped; "" when there is none."""
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Parameter name (without `*`) to its description, continuation lines joined by spaces."""

    def __init__(self, description: str = "", params: Mapping[str, str] | None = None) -> None:
        fields = self.__dict__
        fields["description"] = description
        fields["params"] = MappingProxyType({}) if params is None else params


@functools.lru_cache(maxsize=256)
def parse_docstring(doc: str | None) -> Docstring:
    """Split a docstring into its description and parameter descriptions.

    Kept by its text (an agent made per request describes the same functions again),
    so the result is shared: its ``params`` is read-only.

    Args:
        doc: The raw docstring (indentation is cleaned here), or None.

    Returns:
        The description and parameter texts; empty when `doc` is None or blank.
    """
    if not doc or not doc.strip():
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    first = _first_section(lines)
    description = "\n".join(lines[:first]).strip()
    params: dict[str, str] = {}
    params.update(_numpy_params(lines))
    params.update(_sphinx_params(lines))
    params.update(_google_params(lines))
    return Docstring(description=description, params=MappingProxyType(params))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_google_header(line: str) -> bool:
    stripped = line.strip()
    return stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_SECTIONS


def _is_numpy_header(lines: list[str], index: int) -> bool:
    return (
        index + 1 < len(lines)
        and bool(lines[index].strip())
        and re.match(_NUMPY_UNDERLINE, lines[index + 1]) is not None
    )


def _first_section(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if (
            _is_google_header(line)
            or _is_numpy_header(lines, index)
            or re.match(_SPHINX_FIELD, line) is not None
        ):
            return index
    return len(lines)


def _join(parts: list[str]) -> str:
    return " ".join(part.strip() for part in parts if part.strip())


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not (stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_PARAM_SECTIONS):
            continue
        header_indent = _indent(line)
        entry_indent: int | None = None
        name: str | None = None
        parts: list[str] = []
        while index < len(lines):
            current = lines[index]
            if current.strip() and _indent(current) <= header_indent:
                break  # the section ended: the next header or dedented text
            index += 1
            if not current.strip():
                continue
            if entry_indent is None:
                entry_indent = _indent(current)
            match = re.match(_GOOGLE_ENTRY, current.strip())
            if _indent(current) <= entry_indent and match is not None:
                if name is not None:
                    params[name] = _join(parts)
                name, parts = match.group(1), [match.group(2)]
            elif name is not None:
                parts.append(current)
        if name is not None:
            params[name] = _join(parts)
    return params


def _sphinx_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    name: str | None = None
    parts: list[str] = []
    for line in lines:
        match = re.match(_SPHINX_PARAM, line)
        if match is not None or re.match(_SPHINX_FIELD, line) is not None:
            if name is not None:
                params[name] = _join(parts)
            name, parts = (match.group(1), [match.group(2)]) if match else (None, [])
        elif name is not None and line.strip() and _indent(line) > 0:
            parts.append(line)
        elif name is not None and line.strip():
            params[name] = _join(parts)
            name, parts = None, []
    if name is not None:
        params[name] = _join(parts)
    return params


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        if not (
            _is_numpy_header(lines, index) and lines[index].strip().lower() in _NUMPY_PARAM_SECTIONS
        ):
            index += 1
            continue
        base = _indent(lines[index])
        index += 2
        names: list[str] = []
        parts: list[str] = []
        while index < len(lines) and not _is_numpy_header(lines, index):
            line = lines[index]
            index += 1
            if not line.strip():
                continue
            match = re.match(_NUMPY_ENTRY, line.strip())
            if _indent(line) <= base and match is not None:
                for entry in names:
                    params[entry] = _join(parts)
                names = [n.strip().lstrip("*") for n in match.group(1).split(",")]
                parts = []
            elif names:
                parts.append(line)
        for entry in names:
            params[entry] = _join(parts)
    return params


# The explicit definition form.
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

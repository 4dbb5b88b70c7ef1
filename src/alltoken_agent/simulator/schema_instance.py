"""Generate a minimal JSON instance that validates against a JSON Schema.

The scripted model answers `response_format: {type: "json_schema"}` with such an
instance. Covered: `type` (object, array, string, integer, number, boolean, null, or a
list of types), `properties`/`required`, `items`/`prefixItems`/`minItems`/`maxItems`,
`enum`, `const`, `anyOf`/`oneOf`/`allOf`, `nullable`, string length and `format`,
numeric bounds and `multipleOf`, and local `$ref` into `$defs`/`definitions` (what
pydantic's `model_json_schema()` emits). Optional properties are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

MAX_DEPTH: Final = 12
"""Past this nesting depth recursion stops: arrays stay empty, unions pick `null`."""

_FORMATS: Final[dict[str, str]] = {
    "date-time": "2026-05-12T00:00:00Z",
    "date": "2026-05-12",
    "time": "00:00:00Z",
    "email": "simulated@example.com",
    "uri": "https://example.com/simulated",
    "url": "https://example.com/simulated",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "hostname": "localhost",
}


class SchemaInstanceError(ValueError):
    """The schema uses a construct the generator cannot satisfy (e.g. a remote `$ref`)."""


def minimal_instance(schema: Any) -> Any:
    """Return a small value that validates against `schema`.

    Args:
        schema: A JSON Schema (dict or boolean).

    Returns:
        The generated JSON value.

    Raises:
        SchemaInstanceError: On a `$ref` that does not point into this document.
    """
    root = schema if isinstance(schema, Mapping) else {}
    return _instance(schema, root, 0)


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    if not ref.startswith("#"):
        raise SchemaInstanceError(f"cannot resolve non-local $ref {ref!r}")
    node: Any = root
    for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise SchemaInstanceError(f"$ref {ref!r} points nowhere in the schema")
        node = node[part]
    return node


def _instance(schema: Any, root: Mapping[str, Any], depth: int) -> Any:
    if schema is True or not isinstance(schema, Mapping):
        return {}
    if "$ref" in schema:
        return _instance(_resolve(str(schema["$ref"]), root), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return _instance(_pick_option(schema[key], root, depth), root, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, Mapping) and "$ref" in part:
                part = _resolve(str(part["$ref"]), root)
            if isinstance(part, Mapping):
                _merge(merged, part)
        _merge(merged, {k: v for k, v in schema.items() if k != "allOf"})
        return _instance(merged, root, depth + 1)
    return _typed(schema, _type_of(schema), root, depth)


def _merge(into: dict[str, Any], part: Mapping[str, Any]) -> None:
    for key, value in part.items():
        if key == "properties" and isinstance(value, Mapping):
            into.setdefault("properties", {}).update(value)
        elif key == "required" and isinstance(value, list):
            into["required"] = sorted(set(into.get("required", [])) | set(value))
        else:
            into[key] = value


def _pick_option(options: list[Any], root: Mapping[str, Any], depth: int) -> Any:
    def is_null(option: Any) -> bool:
        return isinstance(option, Mapping) and option.get("type") == "null"

    if depth >= MAX_DEPTH and any(is_null(o) for o in options):
        return next(o for o in options if is_null(o))
    return next((o for o in options if not is_null(o)), options[0])


def _type_of(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        concrete = [t for t in declared if t != "null"]
        declared = concrete[0] if concrete else "null"
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "object"


def _typed(schema: Mapping[str, Any], kind: str, root: Mapping[str, Any], depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: _instance(properties.get(name, {}), root, depth + 1)
            for name in schema.get("required") or []
        }
    if kind == "array":
        return _array(schema, root, depth)
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    return None  # "null" and anything unknown


def _array(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> list[Any]:
    prefix = list(schema.get("prefixItems") or [])
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", max(low, 1)))
    wanted = min(max(low, len(prefix), 0 if depth >= MAX_DEPTH else 1), high)
    items = schema.get("items", {})
    out = []
    for index in range(wanted):
        item_schema = prefix[index] if index < len(prefix) else items
        out.append(_instance(item_schema, root, depth + 1))
    return out


def _string(schema: Mapping[str, Any]) -> str:
    value = _FORMATS.get(str(schema.get("format", "")), "simulated")
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if len(value) < low:
        value += "x" * (low - len(value))
    if high is not None:
        value = value[: int(high)]
    return value


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    low: float = -math.inf
    high: float = math.inf
    if "minimum" in schema:
        low = float(schema["minimum"])
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        low = max(low, float(schema["exclusiveMinimum"]) + (1 if integer else 0.5))
    if "maximum" in schema:
        high = float(schema["maximum"])
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        high = min(high, float(schema["exclusiveMaximum"]) - (1 if integer else 0.5))
    value = 1.0 if low <= 1.0 <= high else (low if low > -math.inf else high)
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        value = math.ceil(value / step) * step
    return math.ceil(value) if integer else float(value)

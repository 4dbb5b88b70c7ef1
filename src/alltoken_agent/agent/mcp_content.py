"""How an MCP server's tools look to the model: their names and the text of their results.

Kept apart from the connection code (``mcp_client``) because it is pure data shaping:
it reads the SDK's result objects by attribute and imports nothing of the SDK.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection
from typing import Any, Final

MAX_NAME: Final = 64
"""The longest tool name the OpenAI function-calling schema accepts."""

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


def safe_name(name: str) -> str:
    """``name`` with every character a tool name may not hold replaced by ``_``, cut to 64."""
    return _UNSAFE.sub("_", name)[:MAX_NAME] or "_"


def exposed_name(name: str, prefix: str, taken: Collection[str]) -> str | None:
    """The name the model sees for MCP tool ``name``, or None when every choice is taken.

    The tool keeps its own name (made safe) unless an earlier tool has it; then it is
    ``PREFIX__name``, so the agent's own tools always keep theirs.
    """
    plain = safe_name(name)
    if plain not in taken:
        return plain
    prefixed = safe_name(f"{prefix}__{name}")
    return prefixed if prefixed not in taken else None


def parameters_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """An MCP ``inputSchema`` as a function's ``parameters``: an object with properties."""
    parameters = dict(schema or {})
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    return parameters


def render_result(result: Any) -> str:
    """The text the model gets for a ``CallToolResult``.

    Text blocks are joined by blank lines; when there is no text, structured content is
    sent as JSON. Images, audio and binary resources are summarised (type and size),
    never sent as base64: a tool message is text, and base64 would only burn tokens.
    """
    parts = [_render_block(block) for block in result.content]
    texts = [part for part in parts if part]
    has_text = any(getattr(block, "type", None) == "text" for block in result.content)
    structured = result.structured_content
    if structured is not None and not has_text:
        texts.insert(0, json.dumps(structured, ensure_ascii=False, default=str))
    return "\n\n".join(texts)


def _render_block(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_decoded_size(block.data)} bytes, not shown]"
    if kind == "resource_link":
        return f"[resource link: {block.uri} ({block.name})]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return text
        mime = resource.mime_type or "application/octet-stream"
        size = _decoded_size(getattr(resource, "blob", ""))
        return f"[resource {resource.uri}: {mime}, {size} bytes, not shown]"
    return f"[{kind or 'unknown'} content, not shown]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)

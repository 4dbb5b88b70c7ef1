"""Conversation content in the GenAI conventions' message shape, for opt-in capture.

OpenAI chat messages become ``{"role", "parts": [...]}`` objects (the
``gen_ai.input.messages`` / ``gen_ai.output.messages`` JSON schemas of
open-telemetry/semantic-conventions-genai). Span attributes cannot hold
structures yet, so the conventions ask for a JSON string on spans.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def input_messages(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The chat history as GenAI input messages, in the order it is sent."""
    return [_message(m) for m in messages]


def output_message(
    text: str, tool_calls: Sequence[Mapping[str, Any]], finish_reason: str | None
) -> dict[str, Any]:
    """One assistant reply (a choice) as a GenAI output message.

    ``finish_reason`` is required by the schema; a reply that ended without one
    is reported as ``error``, as the conventions ask for an expected but missing
    finish reason.
    """
    parts: list[dict[str, Any]] = [_text(text)] if text else []
    parts.extend(dict(call) for call in tool_calls)
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason or "error"}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    """A tool call the model asked for (``arguments`` parsed when it was JSON)."""
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def system_instructions(text: str) -> list[dict[str, Any]]:
    """An agent's instructions as GenAI system instructions."""
    return [_text(text)]


def to_json(value: Any) -> str:
    """Compact JSON for a span attribute; anything not JSON-ready becomes its ``str``."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _message(message: Mapping[str, Any]) -> dict[str, Any]:
    role = message.get("role")
    if role == "tool":
        part = {
            "type": "tool_call_response",
            "id": message.get("tool_call_id"),
            "response": message.get("content"),
        }
        return {"role": "tool", "parts": [part]}
    parts: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content")
    if reasoning:
        parts.append({"type": "reasoning", "content": reasoning})
    parts.extend(_content_parts(message.get("content")))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        parts.append(
            tool_call_part(call.get("id"), function.get("name"), _parsed(function.get("arguments")))
        )
    out: dict[str, Any] = {"role": role, "parts": parts}
    if message.get("name"):
        out["name"] = message["name"]
    return out


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [_text(content)]
    if not isinstance(content, list):
        return [_text(str(content))]
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            parts.append(_text(part.get("text", "")))
        elif kind == "image_url":
            parts.append(_media(part.get("image_url") or {}, "image"))
        elif isinstance(part, Mapping) and kind:
            parts.append(dict(part))  # a GenericPart: any type, its own fields
        else:
            parts.append(_text(str(part)))
    return parts


def _media(image: Mapping[str, Any], modality: str) -> dict[str, Any]:
    url = str(image.get("url", ""))
    if url.startswith("data:"):
        # data:<mime>;base64,<data> is inline bytes: a blob part, base64 as the schema asks.
        header, _, data = url.partition(",")
        mime = header[len("data:") :].split(";", 1)[0] or None
        return {"type": "blob", "modality": modality, "mime_type": mime, "content": data}
    return {"type": "uri", "modality": modality, "uri": url}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def _parsed(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments

"""Chat message content in the one shape the gateways accept (docs/wire-format.md §1.3).

A message's ``content`` is a string, null, or a list of content-part objects:
``{"type": "text", "text": ...}`` or ``{"type": "image_url", "image_url": {"url": ...}}``.
A bare string inside the list is not a part: AllToken's own request model rejects it
with a 400, and so does every OpenAI-compatible gateway.

This leaf module repairs messages that already exist (an agent's ``history=``, rows a
store saved before the shape was fixed) without reading files or raising: whatever
cannot be turned into a part is left as it is, so nothing saved is lost. Building new
user content from strings, paths and bytes is ``agent/content.py``'s job.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

TEXT: Final = "text"
IMAGE_URL: Final = "image_url"
PART_TYPES: Final = frozenset({TEXT, IMAGE_URL})
"""The only part types in the chat schema (§1.3)."""


def text_part(value: str) -> dict[str, Any]:
    """A ``text`` content part."""
    return {"type": TEXT, "text": value}


def image_url_part(url: str, detail: str | None = None) -> dict[str, Any]:
    """An ``image_url`` content part; ``detail`` is left out when None."""
    image: dict[str, Any] = {"url": url}
    if detail:
        image["detail"] = detail
    return {"type": IMAGE_URL, "image_url": image}


def is_data_image_url(value: str) -> bool:
    """Whether a string is a ``data:image/...`` URL (an inline image, not prose)."""
    return value[:11].lower() == "data:image/" and ";base64," in value[:100]


def repair_part(item: Any) -> dict[str, Any] | None:
    """The spec-valid form of one list item, or None when it cannot be read as a part.

    Bare strings become text parts; ``{"text": ...}`` without a type becomes a text
    part; ``{"type": "image_url", "image_url": "<url>"}`` gets its URL wrapped in the
    ``{"url": ...}`` object the spec wants.
    """
    if isinstance(item, str):
        return text_part(item)
    if not isinstance(item, Mapping):
        return None
    kind = item.get("type")
    if kind is None and isinstance(item.get("text"), str) and set(item) <= {"type", "text"}:
        return text_part(item["text"])
    if kind == TEXT and isinstance(item.get("text"), str):
        return dict(item)
    if kind == IMAGE_URL:
        image = item.get("image_url")
        if isinstance(image, str):
            return {**item, "image_url": {"url": image}}
        if isinstance(image, Mapping) and isinstance(image.get("url"), str):
            return {**item, "image_url": dict(image)}
    return None


def repair_content(content: Any) -> Any:
    """``content`` with every list item that can be read as a part in spec shape.

    Strings, None and anything that is not a list pass unchanged; so does a list item
    that cannot be read as a part (the gateway's answer to it is the truth).
    """
    if isinstance(content, (str, bytes, Mapping)) or not isinstance(content, Sequence):
        return content
    repaired: list[Any] = []
    for item in content:
        part = repair_part(item)
        repaired.append(item if part is None else part)
    return repaired


def repair_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``message`` whose ``content`` is in spec shape where it can be."""
    copy = dict(message)
    if "content" in copy:
        copy["content"] = repair_content(copy["content"])
    return copy


_IMMUTABLE: Final = (str, int, float, bool, type(None))


def copied(value: Any) -> Any:
    """A deep copy of a JSON-shaped ``value``, as ``copy.deepcopy`` makes it, but faster.

    Messages are dicts and lists of strings and numbers; ``deepcopy``'s memo and
    dispatch made copying a long session's history (thousands of messages) cost more
    than reading it from the store. Anything else inside is left to ``deepcopy``.
    """
    kind = type(value)
    if kind is dict:
        # Strings and numbers are kept without a call each: most of a message is them.
        return {
            key: item if type(item) in _IMMUTABLE else copied(item) for key, item in value.items()
        }
    if kind is list:
        return [item if type(item) in _IMMUTABLE else copied(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


def owned_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """``repair_message(copied(message))`` with one copy: a message nobody else holds."""
    owned = copied(message)
    if type(owned) is not dict:
        owned = dict(owned)
    content = owned.get("content")
    if type(content) is not str and "content" in owned:
        owned["content"] = repair_content(content)
    return owned


def adopted_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` but the system ones, repaired in place as ``owned_message`` would copy them.

    For messages nobody else holds (just decoded from a store): a long session's copy
    cost more than the rest of a turn's work on it.
    """
    kept = [message for message in messages if message.get("role") != "system"]
    for message in kept:
        content = message.get("content")
        if type(content) is not str and "content" in message:
            message["content"] = repair_content(content)
    return kept

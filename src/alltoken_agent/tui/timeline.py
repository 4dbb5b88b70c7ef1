"""What happened between the messages: media jobs and system prompts, where they happened.

A session stores its messages only, without the system prompt; these entries say
where, among those messages, a media job finished or a system prompt was set, so
``/save`` and a resumed session show them in place. They are kept in the session's
metadata under :data:`METADATA_KEY`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

METADATA_KEY = "tui"
"""The session metadata key holding the timeline (``{"media": [...], "prompts": [...]}``)."""
MAX_ENTRIES = 200
"""Entries of each kind kept in the metadata (the newest); a long session stays small."""
MAX_TEXT = 20_000
"""Characters of a prompt or a path read back; a longer one is not ours."""


@dataclass(frozen=True)
class MediaEntry:
    """A finished ``/image`` or ``/video`` job, placed among the messages."""

    after: int
    """How many messages (the system prompt not counted) came before it."""
    kind: str
    prompt: str
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class PromptEntry:
    """A system prompt, from the message it was set before on."""

    after: int
    """How many messages (the system prompt not counted) came before it."""
    text: str | None
    """The prompt; None when it was removed."""


def to_metadata(media: Sequence[MediaEntry], prompts: Sequence[PromptEntry]) -> dict[str, Any]:
    """The timeline as JSON-ready session metadata (the value of :data:`METADATA_KEY`)."""
    return {
        "media": [
            {
                "after": e.after,
                "kind": e.kind,
                "prompt": e.prompt,
                "paths": [str(p) for p in e.paths],
            }
            for e in media[-MAX_ENTRIES:]
        ],
        "prompts": [{"after": e.after, "text": e.text} for e in prompts[-MAX_ENTRIES:]],
    }


def from_metadata(metadata: Mapping[str, Any]) -> tuple[list[MediaEntry], list[PromptEntry]]:
    """The timeline stored in a session's metadata; entries that do not parse are left out.

    The metadata is shared with other front ends (the server's sessions), so nothing
    in it is trusted to have our shape.
    """
    stored = metadata.get(METADATA_KEY)
    if not isinstance(stored, Mapping):
        return [], []
    media: list[MediaEntry] = []
    for item in _items(stored.get("media")):
        after, kind, prompt = item.get("after"), item.get("kind"), item.get("prompt")
        paths = item.get("paths")
        if (
            _position(after)
            and kind in ("image", "video")
            and _text(prompt)
            and isinstance(paths, list)
            and all(_text(p) and p for p in paths)
        ):
            media.append(MediaEntry(after, kind, prompt, tuple(Path(p) for p in paths)))
    prompts: list[PromptEntry] = []
    for item in _items(stored.get("prompts")):
        after, text = item.get("after"), item.get("text")
        if _position(after) and (text is None or _text(text)):
            prompts.append(PromptEntry(after, text))
    return media, prompts


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value[-MAX_ENTRIES:] if isinstance(item, Mapping)]


def _position(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) <= MAX_TEXT

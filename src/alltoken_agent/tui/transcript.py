"""``/save``: the conversation as a Markdown document."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alltoken_agent.tui.timeline import MediaEntry, PromptEntry


def to_markdown(
    messages: Sequence[dict[str, Any]],
    *,
    title: str,
    model: str,
    media: Sequence[MediaEntry] = (),
    prompts: Sequence[PromptEntry] = (),
    folder: Path | None = None,
) -> str:
    """Render OpenAI-format messages as Markdown: one section per message, tools quoted.

    ``messages`` are the conversation without its system prompt: each system prompt
    of ``prompts`` goes in before the message it was set before (the first at the
    top, a later one where ``/system`` changed it), so the document shows which
    prompt each answer had. Media jobs go in where they finished: images embedded,
    other files linked, by a path relative to ``folder`` (where the document is
    saved) when they are inside it.
    """
    lines = [f"# {title}", "", f"Model: `{model}`", ""]
    # Prompts before media at the same place: a prompt set then applies to what follows.
    pending: list[MediaEntry | PromptEntry] = sorted(
        [*prompts, *media], key=lambda entry: (entry.after, isinstance(entry, MediaEntry))
    )
    for index in range(len(messages) + 1):
        while pending and (pending[0].after <= index or index == len(messages)):
            # The last round also takes entries placed past the end (a session
            # whose messages were changed elsewhere).
            entry = pending.pop(0)
            if isinstance(entry, PromptEntry):
                lines += _prompt_lines(entry)
            else:
                lines += _media_lines(entry, folder)
        if index < len(messages):
            lines += _message_lines(messages[index])
    return "\n".join(lines).rstrip() + "\n"


def _prompt_lines(entry: PromptEntry) -> list[str]:
    heading = "## System" if entry.after == 0 else "## System (changed here)"
    return [heading, "", entry.text or "*(no system prompt from here on)*", ""]


def _message_lines(message: dict[str, Any]) -> list[str]:
    role = message.get("role")
    content = _text(message.get("content"))
    lines: list[str] = []
    if role == "system":
        lines += ["## System", "", content, ""]
    elif role == "user":
        lines += ["## You", "", content, ""]
    elif role == "assistant":
        lines += ["## Assistant", ""]
        if content:
            lines += [content, ""]
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            lines += [
                f"> Tool call `{function.get('name', '?')}`",
                ">",
                "> ```json",
                f"> {function.get('arguments', '')}",
                "> ```",
                "",
            ]
    elif role == "tool":
        lines += ["> Tool result", ">", *[f"> {line}" for line in content.splitlines()], ""]
    return lines


def _media_lines(entry: MediaEntry, folder: Path | None) -> list[str]:
    lines = [f"## {entry.kind.capitalize()}: {_alt(entry.prompt)}", ""]
    for path in entry.paths:
        target = _link_target(path, folder)
        if entry.kind == "image":
            lines += [f"![{_alt(entry.prompt)}](<{target}>)", ""]
        else:
            lines += [f"[{path.name}](<{target}>)", ""]
    return lines


def _link_target(path: Path, folder: Path | None) -> str:
    resolved = path.resolve()
    if folder is not None:
        try:
            return resolved.relative_to(folder.resolve()).as_posix()
        except ValueError:
            pass
    return resolved.as_uri()


def _alt(text: str) -> str:
    return re.sub(r"[\[\]\n]+", " ", text).strip()


def write_transcript(folder: Path, stem: str, text: str) -> Path:
    """Write ``text`` to ``folder/STEM.md`` without overwriting a file (``STEM-2.md``...)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "conversation"
    path = folder / f"{safe}.md"
    counter = 2
    while path.exists():
        path = folder / f"{safe}-{counter}.md"
        counter += 1
    path.write_text(text, encoding="utf-8")
    return path


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, dict) and part.get("type") == "image_url":
                parts.append("*(image)*")
        return "\n\n".join(parts)
    return json.dumps(content, ensure_ascii=False)

"""``/save``: the conversation as a Markdown document."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def to_markdown(messages: Sequence[dict[str, Any]], *, title: str, model: str) -> str:
    """Render OpenAI-format messages as Markdown: one section per message, tools quoted."""
    lines = [f"# {title}", "", f"Model: `{model}`", ""]
    for message in messages:
        role = message.get("role")
        content = _text(message.get("content"))
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
    return "\n".join(lines).rstrip() + "\n"


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

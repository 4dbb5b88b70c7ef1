"""Reading a batch's JSONL input: each line one request; a bad line is an error line."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alltoken_agent.agent import resolve_tool_names
from alltoken_agent.batch.media_input import KINDS, MEDIA_KINDS, media_request
from alltoken_agent.batch.turn import error_output
from alltoken_agent.errors import UserError
from alltoken_agent.store.batches import NewItem

MAX_LINE_CHARS = 1_000_000
"""A longer input line is refused (as an error line): no prompt needs a megabyte."""

_KNOWN_KEYS = frozenset({"prompt", "model", "tools", "instructions", "schema", "id", "kind"})


@dataclass(frozen=True)
class BatchDefaults:
    """What a line that does not say otherwise runs with (the command's flags)."""

    model: str | None = None
    tools: str = "default"
    schema: dict[str, Any] | None = None
    instructions: str | None = None
    kind: str | None = None
    """What lines that name no ``kind`` run: None or ``chat`` (an agent turn), ``image``,
    ``video``. ``model`` is the default of lines of this kind only."""
    media_dir: str | None = None
    """The folder media lines save to (absolute, ending in a separator), when given."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; part of the run's identity."""
        identity: dict[str, Any] = {
            "model": self.model,
            "tools": self.tools,
            "schema": self.schema,
            "instructions": self.instructions,
        }
        # Only when set, so runs journaled before media lines existed keep their ids.
        if self.kind not in (None, "chat"):
            identity["kind"] = self.kind
        if self.media_dir is not None:
            identity["media_dir"] = self.media_dir
        return identity


@dataclass(frozen=True)
class ParsedBatch:
    """An input file read into journal items, with the run id it maps to."""

    run_id: str
    input_sha256: str
    items: list[NewItem] = field(default_factory=list)


def parse_batch(
    text: str, data: bytes, defaults: BatchDefaults, *, media_dir: str | None = None
) -> ParsedBatch:
    """Read every line of ``text`` (the decoded ``data``) into a journal item.

    The run id hashes the input's bytes and the defaults, so the same command on the
    same file finds the same run (its finished lines are not sent again), while other
    flags start a new run. Media lines save to ``defaults.media_dir``, else to
    ``media_dir`` (absolute, ending in a separator), else to the current folder.
    """
    digest = hashlib.sha256(data).hexdigest()
    identity = json.dumps(
        {"input": digest, "defaults": defaults.to_dict()}, sort_keys=True, ensure_ascii=True
    )
    run_id = "bat_" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    folder = defaults.media_dir or media_dir or str(Path.cwd()) + os.sep
    items = [
        _item(number, line, defaults, folder) for number, line in enumerate(_lines(text), start=1)
    ]
    return ParsedBatch(run_id=run_id, input_sha256=digest, items=items)


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line (JSON strings may hold U+2028 or form feeds verbatim), and a
    # final newline does not start another line.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _item(number: int, line: str, defaults: BatchDefaults, folder: str) -> NewItem:
    try:
        return NewItem(line=number, request=_request(line, defaults, folder))
    except UserError as error:
        ident = _loose_id(line)
        return NewItem(
            line=number,
            request=None,
            output=error_output(number, ident, {"code": "invalid_line", "message": str(error)}),
        )


def _loose_id(line: str) -> str | int | None:
    """The line's ``id`` when it is readable, so an error line can still be matched."""
    try:
        data = json.loads(line) if len(line) <= MAX_LINE_CHARS else None
    except (ValueError, RecursionError):
        return None
    ident = data.get("id") if isinstance(data, dict) else None
    return ident if _good_id(ident) else None


def _good_id(ident: Any) -> bool:
    return (isinstance(ident, str) and len(ident) <= 255) or (
        isinstance(ident, int) and not isinstance(ident, bool)
    )


def _request(line: str, defaults: BatchDefaults, folder: str) -> dict[str, Any]:
    if not line.strip():
        raise UserError("the line is empty; each line must be a JSON object with a prompt")
    if len(line) > MAX_LINE_CHARS:
        raise UserError(f"the line is longer than {MAX_LINE_CHARS} characters")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise UserError(f"the line is not JSON ({error.msg} at column {error.colno})") from None
    except (ValueError, RecursionError):
        raise UserError("the line is not JSON that can be read (too deeply nested)") from None
    if not isinstance(data, dict):
        raise UserError('the line is not a JSON object; give {"prompt": "..."}')
    kind = data.get("kind", defaults.kind or "chat")
    if kind not in KINDS:
        raise UserError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind in MEDIA_KINDS:
        return _media(data, kind, defaults, folder)
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise UserError(
            f"unknown key {unknown[0]!r}; a line may have: {', '.join(sorted(_KNOWN_KEYS))}"
        )
    prompt, ident = _prompt_and_id(data)
    model = _optional_text(data, "model", defaults.model)
    instructions = _optional_text(data, "instructions", defaults.instructions)
    tools = _tools(data.get("tools"), defaults.tools)
    schema = data.get("schema", defaults.schema)
    if schema is not None and not (isinstance(schema, dict) and schema.get("type") == "object"):
        raise UserError('schema must be a JSON schema object with "type": "object"')
    return {
        "prompt": prompt,
        "id": ident,
        "model": model,
        "instructions": instructions,
        "tools": tools,
        "schema": schema,
    }


def _prompt_and_id(data: dict[str, Any]) -> tuple[str, str | int | None]:
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError('the line has no prompt (a non-empty string under "prompt")')
    ident = data.get("id")
    if ident is not None and not _good_id(ident):
        raise UserError("id must be a string (up to 255 characters) or an integer")
    return prompt, ident


def _media(data: dict[str, Any], kind: Any, defaults: BatchDefaults, folder: str) -> dict[str, Any]:
    _, ident = _prompt_and_id(data)
    default_model = defaults.model if defaults.kind == kind else None
    model = _optional_text(data, "model", default_model)
    return media_request(data, kind, ident=ident, model=model, media_dir=folder)


def _optional_text(data: dict[str, Any], key: str, default: str | None) -> str | None:
    value = data.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise UserError(f"{key} must be a non-empty string")
    return value


def _tools(value: Any, default: str) -> str:
    if value is None:
        spec = default
    elif isinstance(value, str):
        spec = value
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        spec = ",".join(value) if value else "none"
    else:
        raise UserError("tools must be a string (default, none, names) or a list of tool names")
    resolve_tool_names(spec)  # an unknown tool fails this line now, not mid-run
    return spec

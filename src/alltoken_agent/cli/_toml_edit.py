"""Set one key in a TOML document's text, keeping its comments and layout.

``tomli_w`` writes a document from data, so a hand-edited file would lose its
comments on every ``config set``. This edits the text instead, for the common
shapes: a ``key = value`` line in a ``[table]`` (the value on that line), or a key
or table that is not there yet; values are written on one line (tables inline).
Anything else (a multi-line value, a table defined inline or by dotted keys, arrays
of tables) returns None and the caller rewrites the file. The
result is parsed back and compared with the data it must hold, so a wrong edit is
never written.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_KEY_LINE = re.compile(r"\s*([^=\s#\[][^=]*?)\s*=")
_MAX_VALUE_LINES = 1000


def key_text(part: str) -> str:
    """One key as TOML writes it: bare when it can be, else quoted."""
    return part if _BARE_KEY.fullmatch(part) else tomli_w.dumps({part: 0}).split(" = ")[0]


def value_text(value: Any) -> str:
    """``value`` as a one-line TOML value (a table becomes an inline table)."""
    if isinstance(value, dict):
        pairs = [f"{key_text(key)} = {value_text(item)}" for key, item in value.items()]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).split(" = ", 1)[1].strip()


def set_in_text(text: str, path: Sequence[str], value: Any, expected: dict[str, Any]) -> str | None:
    """``text`` with ``path`` set to ``value``, or None when that needs a rewrite.

    ``expected`` is the whole document as it must parse afterwards.
    """
    if not path:
        return None
    rendered = value_text(value)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edited = _edit(lines, tuple(path[:-1]), path[-1], rendered)
    if edited is None:
        return None
    result = "".join(edited)
    try:
        if tomllib.loads(result) != expected:
            return None
    except tomllib.TOMLDecodeError:
        return None
    return result


def _edit(lines: list[str], table: tuple[str, ...], key: str, rendered: str) -> list[str] | None:
    tables: dict[tuple[str, ...], int] = {(): -1}
    """Table path -> index of its header line (-1: the top level)."""
    last_key: dict[tuple[str, ...], int] = {}
    """Table path -> index of its last ``key = value`` line."""
    first_header: int | None = None
    current: tuple[str, ...] | None = ()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and first_header is None:
            first_header = index
        if stripped.startswith("[["):
            current = None  # an array of tables: not edited here
        elif stripped.startswith("["):
            current = _header(stripped)
            if current is not None:
                tables[current] = index
        elif current is not None and (match := _KEY_LINE.match(line)):
            found = _dotted(match.group(1))
            if found is None:
                continue
            if len(found) == 1:
                last_key[current] = index
            if current + found == (*table, key):
                return _replace_value(lines, index, match.end(), rendered)
    new_line = f"{key_text(key)} = {rendered}\n"
    if table in last_key:
        at = last_key[table] + 1
        return [*lines[:at], new_line, *lines[at:]]
    if table in tables and table:
        at = tables[table] + 1
        return [*lines[:at], new_line, *lines[at:]]
    if not table:  # a top-level key goes before the first table and the comments above it
        first = len(lines) if first_header is None else first_header
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1
        gap = ["\n"] if first < len(lines) else []
        return [*lines[:first], new_line, *gap, *lines[first:]]
    header = ".".join(key_text(part) for part in table)
    gap = ["\n"] if lines and lines[-1].strip() else []
    return [*lines, *gap, f"[{header}]\n", new_line]


def _header(stripped: str) -> tuple[str, ...] | None:
    """The table path of a ``[a."b c"]`` header line (its comment allowed)."""
    try:
        data: Any = tomllib.loads(stripped)
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        name, data = next(iter(data.items()))
        path.append(name)
    return tuple(path) if path and data == {} else None


def _dotted(key: str) -> tuple[str, ...] | None:
    """The path of a (maybe dotted, maybe quoted) key, or None if it is not one."""
    try:
        data: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(data, dict):
        name, data = next(iter(data.items()))
        path.append(name)
    return tuple(path)


def _replace_value(
    lines: list[str], index: int, value_start: int, rendered: str
) -> list[str] | None:
    """``lines`` with the value that starts at ``lines[index][value_start:]`` replaced.

    A value may go on over the next lines (an array); the comment after it is kept,
    comments inside it go with it.
    """
    head = lines[index][:value_start]
    for end in range(index, min(index + _MAX_VALUE_LINES, len(lines))):
        last = lines[end]
        ending = last[len(last.rstrip("\r\n")) :]
        before = lines[index][value_start:] + "".join(lines[index + 1 : end + 1])
        before = before[: len(before) - len(ending)]
        last_start = len(before) - len(last.rstrip("\r\n")) if end > index else 0
        cuts = [m.start() for m in re.finditer("#", before) if m.start() >= last_start]
        for cut in [*cuts, len(before)]:
            value = before[:cut]
            try:
                tomllib.loads(f"v ={value}")
            except tomllib.TOMLDecodeError:
                continue
            spacing = value[len(value.rstrip()) :]
            line = f"{head} {rendered}{spacing}{before[cut:]}{ending}"
            return [*lines[:index], line, *lines[end + 1 :]]
    return None

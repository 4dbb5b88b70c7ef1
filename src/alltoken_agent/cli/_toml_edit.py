"""The one TOML editor: set one key in a document's text, keeping its comments and layout.

Built on ``tomlkit``, which parses a document into a tree that remembers its comments,
whitespace and order, so ``config set`` changes the one value and nothing around it.
The result is parsed back and compared with the data it must hold, so a wrong edit
is never written.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping, Sequence
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, Table, Whitespace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def key_text(part: str) -> str:
    """One key as TOML writes it: bare when it can be, else quoted."""
    return tomlkit.key(part).as_string()


def value_text(value: Any) -> str:
    """``value`` as a one-line TOML value (a table becomes an inline table)."""
    if isinstance(value, dict):
        pairs = [f"{key_text(key)} = {value_text(item)}" for key, item in value.items()]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    text: str = tomlkit.item(value).as_string()
    return text


def set_in_text(text: str, path: Sequence[str], value: Any, expected: dict[str, Any]) -> str | None:
    """``text`` with ``path`` set to ``value``, comments kept; None if that cannot be done.

    ``expected`` is the whole document as it must parse afterwards; a document whose
    shape the edit cannot reach (a value where a table is needed) gives None, and the
    caller writes ``dumps(expected)`` instead.
    """
    if not path:
        return None
    try:
        document = tomlkit.parse(text)
        table: MutableMapping[str, Any] = document
        for part in path[:-1]:
            if part not in table:
                table[part] = tomlkit.table()
            inner = table[part]
            if not isinstance(inner, MutableMapping):
                return None
            table = inner
        _put(table, path[-1], value)
        result = tomlkit.dumps(document)
        if tomllib.loads(result) != expected:
            return None
    except (TOMLKitError, tomllib.TOMLDecodeError, TypeError, ValueError):
        return None
    return result


def _put(table: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Set ``key`` in ``table``, in place when it is there.

    A new key goes right after the table's last key: above the blank lines and the
    comments over its first sub-table or the next table (they describe that table).
    """
    container = table.value if isinstance(table, Table) else table
    if key in table or not isinstance(container, Container):
        table[key] = value
        return
    body = container.body
    at = next((i for i, (_, item) in enumerate(body) if isinstance(item, (Table, AoT))), len(body))
    # Above the blank lines there, or else above the comment block right over the header.
    kind = Whitespace if at > 0 and isinstance(body[at - 1][1], Whitespace) else Comment
    while at > 0 and isinstance(body[at - 1][1], kind):
        at -= 1
    if at == len(body):
        table[key] = value
    else:
        # tomlkit has no public "insert before"; the result is parsed back and checked.
        container._insert_at(at, key, value)


def dumps(data: dict[str, Any]) -> str:
    """A whole document written from data (no comments to keep)."""
    return tomlkit.dumps(data)

"""The one TOML editor: set one key or table in a document's text, keeping its comments.

Built on ``tomlkit``, which parses a document into a tree that remembers its comments,
whitespace and order, so ``config set`` changes the one value and ``mcp install`` adds
its one table, and nothing around them changes. The result is parsed back and compared
with the data it must hold, so a wrong edit is never written. ``cli/`` and ``skills/``
both edit TOML through this module.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
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
    return _edit(text, path, expected, lambda table, key: _put(table, key, value))


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


def set_table_in_text(
    text: str, path: Sequence[str], entry: Mapping[str, Any], expected: dict[str, Any]
) -> str | None:
    """``text`` with the table at ``path`` set to ``entry``, comments kept; None if it cannot be.

    A new table goes after the last table of its parent (``[a.x]`` after ``[a.w]``), a
    table already there is replaced where it stands, and missing parents are written as
    dotted headers only (``[mcp_servers.ours]``, no empty ``[mcp_servers]``). The blank
    lines and comments that ended the parent's last table are kept at the parent's end:
    they usually introduce the next table. ``expected`` is the whole document as it must
    parse afterwards.
    """

    def put(parent: MutableMapping[str, Any], key: str) -> None:
        if not isinstance(parent, (Table, Container)):
            raise TypeError("an inline table")  # not edited in place; the caller says so
        last = key not in parent or list(parent)[-1] == key
        tail = _detach_tail(parent) if last else []
        parent[key] = dict(entry)
        end = _last_table(parent)
        for item in tail:
            end.add(item)

    return _edit(text, path, expected, put, super_tables=True)


def _edit(
    text: str,
    path: Sequence[str],
    expected: dict[str, Any],
    put: Callable[[MutableMapping[str, Any], str], None],
    *,
    super_tables: bool = False,
) -> str | None:
    """Walk to ``path``'s parent (making missing tables), ``put`` the last key, check it.

    ``super_tables`` writes missing parents as dotted headers only.
    """
    if not path:
        return None
    try:
        document = tomlkit.parse(text)
        table: MutableMapping[str, Any] = document
        for part in path[:-1]:
            if part not in table:
                table[part] = (
                    tomlkit.table(is_super_table=True) if super_tables else tomlkit.table()
                )
            inner = table[part]
            if not isinstance(inner, MutableMapping):
                return None
            table = inner
        put(table, path[-1])
        result = tomlkit.dumps(document)
        if tomllib.loads(result) != expected:
            return None
    except (TOMLKitError, tomllib.TOMLDecodeError, TypeError, ValueError):
        return None
    return result


def table_text(path: Sequence[str], entry: Mapping[str, Any]) -> str:
    """``entry`` as the table at ``path`` of a document of its own (a snippet to paste)."""
    document = tomlkit.document()
    parent: Any = document
    for part in path[:-1]:
        parent[part] = tomlkit.table(is_super_table=True)
        parent = parent[part]
    parent[path[-1]] = dict(entry)
    return tomlkit.dumps(document)


def _body(table: Table | Container) -> list[tuple[Any, Any]]:
    body: list[tuple[Any, Any]] = table.value.body if isinstance(table, Table) else table.body
    return body


def _last_table(table: Any) -> Any:
    """The table whose body the text of ``table`` ends with (its deepest last sub-table)."""
    while True:
        items = [item for _, item in _body(table) if not isinstance(item, (Comment, Whitespace))]
        if not items or not isinstance(items[-1], Table):
            return table
        table = items[-1]


def _detach_tail(table: Any) -> list[Any]:
    """Take the blank lines and comments off the end of ``table``'s text, in order."""
    body = _body(_last_table(table))
    tail: list[Any] = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Comment, Whitespace)):
        tail.insert(0, body.pop()[1])
    return tail


def dumps(data: dict[str, Any]) -> str:
    """A whole document written from data (no comments to keep)."""
    return tomlkit.dumps(data)

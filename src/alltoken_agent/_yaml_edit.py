"""The one YAML editor: set one mapping in a document's text, keeping its comments.

Built on ``ruamel.yaml``'s round-trip mode, which loads a document into a tree that
remembers its comments, key order and quoting, so ``mcp install`` adds its one entry
under a section that is already there (Hermes' ``mcp_servers:``) and the rest of the
file reads as before. The result is parsed back and compared with the data it must
hold, so a wrong edit is never written. Snippets printed for pasting come from the
same library.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

_STR = "tag:yaml.org,2002:str"
# ruamel writes YAML 1.2, where `yes`, `on` and `2026-01-01` are plain strings; readers
# that speak 1.1 (PyYAML, which Python runtimes use) take them for booleans and dates.
_YAML_1_1 = VersionedResolver(version=(1, 1))


def load(text: str) -> Any:
    """The document's data as plain dicts and lists (None for an empty one).

    Raises:
        ValueError: Not one valid YAML document; the message is one line.
    """
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        problem = getattr(error, "problem", None) or type(error).__name__
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{problem}{where}") from None


def set_mapping_in_text(
    text: str, path: Sequence[str], entry: Mapping[str, Any], expected: Any
) -> str | None:
    """``text`` with the mapping at ``path`` set to ``entry``, comments kept; None if it cannot be.

    A new key goes at the end of its parent mapping, a key already there is replaced
    where it stands, missing parents are added at the end of theirs. The comments that
    followed the parent's last value (they usually introduce what comes next) stay at
    the parent's end. The file's indentation is kept as far as it can be guessed.
    ``expected`` is the whole document as it must load afterwards.
    """
    if not path:
        return None
    yaml = _round_trip()
    try:
        # The guess loads the text once more, with a loader of its own (its `yaml=`
        # argument is newer than the oldest ruamel.yaml we accept).
        _, indent, offset = load_yaml_guess_indent(text)
        document = yaml.load(text)
    except YAMLError:
        return None
    if document is None:  # empty, or comments only: they stay above the new section
        body = text.rstrip("\n")
        result = (body + "\n\n" if body.strip() else "") + dumps(path, entry)
        return result if _loads_as(result, expected) else None
    if not isinstance(document, CommentedMap):
        return None
    parent: CommentedMap = document
    for part in path[:-1]:
        inner = parent.get(part)
        if inner is None:
            _set_last(parent, part, CommentedMap())
            inner = parent[part]
        if not isinstance(inner, CommentedMap):
            return None
        parent = inner
    _set_last(parent, path[-1], _node(entry))
    _indent(yaml, text, indent, offset)
    if text.lstrip().startswith("---"):
        yaml.explicit_start = True
    out = io.StringIO()
    yaml.dump(document, out)
    result = out.getvalue()
    return result if _loads_as(result, expected) else None


def dumps(path: Sequence[str], entry: Mapping[str, Any]) -> str:
    """``entry`` nested under ``path`` as a YAML snippet ending in a newline."""
    nested: Mapping[str, Any] = entry
    for part in reversed(path):
        nested = {part: nested}
    return document_text(nested)


def document_text(data: Mapping[str, Any], *, list_offset: int = 0) -> str:
    """``data`` as a YAML document (a snippet to paste), keys in their order.

    ``list_offset`` indents a list's dashes under their key (2 gives ``  - item``).
    """
    yaml = _round_trip()
    yaml.indent(mapping=2, sequence=2 + list_offset, offset=list_offset)
    out = io.StringIO()
    yaml.dump(_node(data), out)
    return out.getvalue()


def _round_trip() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a user's long line
    return yaml


def _loads_as(text: str, expected: Any) -> bool:
    try:
        return bool(load(text) == expected)
    except ValueError:
        return False


def _set_last(parent: CommentedMap, key: str, value: Any) -> None:
    """Set ``key``; when it lands at the end, the comments after the old end move below it."""
    last = key not in parent or list(parent)[-1] == key
    tail = _detach_tail(parent) if last else None
    parent[key] = value
    if tail is not None:
        _attach_tail(parent, tail)


def _last_leaf(node: Any) -> tuple[Any, Any, int] | None:
    """The collection, key and comment slot that the text of ``node`` ends with."""
    while True:
        if isinstance(node, CommentedMap) and node:
            key: Any = list(node)[-1]
            slot = 2  # a mapping value's comment
        elif isinstance(node, CommentedSeq) and node:
            key, slot = len(node) - 1, 0
        else:
            return None
        value = node[key]
        if isinstance(value, (CommentedMap, CommentedSeq)) and value:
            node = value
            continue
        return node, key, slot


def _detach_tail(node: Any) -> Any:
    """Take the comment lines after ``node``'s last value off it (its own line's comment stays)."""
    leaf = _last_leaf(node)
    if leaf is None:
        return None
    collection, key, slot = leaf
    items = collection.ca.items.get(key)
    token = items[slot] if items and len(items) > slot else None
    if token is None:
        return None
    head, newline, tail = token.value.partition("\n")
    if not tail:
        return None
    moved = copy.copy(token)
    moved.value = "\n" + tail
    if head.strip():
        token.value = head + newline
    else:
        items[slot] = None
    return moved


def _attach_tail(node: Any, token: Any) -> None:
    leaf = _last_leaf(node)
    if leaf is None:
        return
    collection, key, slot = leaf
    items = collection.ca.items.setdefault(key, [None, None, None, None])
    items[slot] = token


def _node(value: Any) -> Any:
    """``value`` as round-trip nodes, strings quoted where a YAML 1.1 reader would misread them."""
    if isinstance(value, Mapping):
        return CommentedMap((_node(key), _node(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_node(item) for item in value)
    if isinstance(value, str) and _YAML_1_1.resolve(ScalarNode, value, (True, False)) != _STR:
        return DoubleQuotedScalarString(value)
    return value


def _indent(yaml: YAML, text: str, guessed: int | None, offset: int | None) -> None:
    """Write with the file's own indentation (ruamel guesses sequences; mappings here)."""
    mapping = _mapping_indent(text) or guessed or 2
    if offset is None or guessed is None:  # no list in the file: PyYAML's layout
        yaml.indent(mapping=mapping, sequence=2, offset=0)
    else:
        yaml.indent(mapping=mapping, sequence=guessed, offset=offset)


def _mapping_indent(text: str) -> int | None:
    """How far a nested mapping's keys sit right of their parent's, from the first one."""
    parent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(line) - len(line.lstrip(" "))
        if parent is not None and not stripped.startswith("-"):
            if column > parent:
                return column - parent
        parent = column if stripped.endswith(":") and not stripped.startswith("-") else None
    return None

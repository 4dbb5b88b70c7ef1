"""Reading a gateway's JSON (a streamed chunk, a whole reply): its values, made safe text.

JSON may spell a lone surrogate (``"\\ud800"``): valid JSON syntax that decodes to a
``str`` no UTF-8 encoder takes, so it would break whatever writes the text on (the
server's SSE frames, ``--json`` lines, the session store). Such code points become
U+FFFD here, where the gateway's JSON enters, only when the text could hold one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_raw_decode = json.JSONDecoder().raw_decode

_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF]")
"""A ``\\uD800``-``\\uDFFF`` escape. Searched only in text with a backslash (a
one-character test, a fraction of this search): most chunks hold none."""

_SURROGATE_BYTES = re.compile(rb"\\u[dD][89abcdefABCDEF]|\xed[\xa0-\xbf]|\x00")
"""What in a body's bytes can decode to a surrogate: an escape; one spelt in UTF-8
(``json.loads`` decodes bytes with ``surrogatepass``); or a NUL, which UTF-8 JSON never
holds raw but UTF-16 and UTF-32 (which ``json.loads`` also reads) always do."""

_SURROGATE = re.compile("[\ud800-\udfff]")
"""After decoding, a valid pair is one code point: any surrogate left is a lone one."""

REPLACEMENT = "\ufffd"


def loads(payload: str) -> Any:
    """``json.loads``, without its two whitespace scans when the payload is one value alone.

    Lone surrogates in its strings come back as U+FFFD (see the module docstring).

    Raises:
        ValueError: Not JSON, or more than one value.
    """
    try:
        value, end = _raw_decode(payload)
    except ValueError:  # whitespace first, or not JSON: json.loads decides
        return checked(json.loads(payload), payload)
    if end != len(payload):
        return checked(json.loads(payload), payload)
    # checked(), inlined: this runs once per chunk of every stream.
    if "\\" in payload and _ESCAPED_SURROGATE.search(payload):
        return _replaced(value)
    return value


def loads_bytes(body: bytes) -> Any:
    """``json.loads`` of a whole body (UTF-8, -16 or -32), lone surrogates as U+FFFD.

    Raises:
        ValueError: Not JSON (``UnicodeDecodeError`` included).
    """
    value = json.loads(body)
    return _replaced(value) if _SURROGATE_BYTES.search(body) else value


def checked(value: Any, text: str) -> Any:
    """``value`` decoded from ``text``, with lone surrogates as U+FFFD if ``text`` spells any.

    Text without a backslash costs one character test; only text with a surrogate
    escape is walked.
    """
    if "\\" in text and _ESCAPED_SURROGATE.search(text):
        return _replaced(value)
    return value


def _replaced(value: Any) -> Any:
    """``value`` with every string (object keys too) free of surrogates.

    Containers are fixed in place (they were just decoded, nobody else holds them), with
    a stack rather than recursion: a deeply nested reply must not exhaust the stack.
    """
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(isinstance(key, str) and _SURROGATE.search(key) for key in node):
                items = list(node.items())
                node.clear()
                node.update((_replaced(key), item) for key, item in items)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = _SURROGATE.sub(REPLACEMENT, item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _SURROGATE.sub(REPLACEMENT, item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value


def masked(value: Any, known: Callable[[str], str]) -> Any:
    """A decoded field masked again: JSON escapes (``\\u0073k-...``) can hide a key."""
    return known(value) if isinstance(value, str) else value

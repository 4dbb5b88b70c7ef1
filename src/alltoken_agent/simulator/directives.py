"""Parse the scripting directives a test can put in a user message.

* `[[call NAME ARGS]]`: call tool NAME with the raw text ARGS as `arguments` (verbatim,
  even if it is not JSON; may be empty). Several calls in one round are parallel calls.
* `[[then]]`: ends a round; the next round is issued after the previous round's tool
  results come back.
* `[[reply TEXT]]`: the final text answer is exactly TEXT.

ARGS and TEXT end at the first `]]` outside a JSON string that leaves their square
brackets balanced, so `[[call f {"m": [[1, 2]]}]]` and `[[call f {"q": "a]]b"}]]` work;
if no `]]` qualifies, they end at the first `]]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_OPEN: Final = re.compile(r"\[\[(call|then|reply)(?=[\s\]])")
_NAME: Final = re.compile(r"[^\s\]]+")


@dataclass(frozen=True)
class PlannedCall:
    """A tool call the scripted model will make."""

    name: str
    """Tool name (need not be one of the offered tools)."""
    arguments: str
    """The `arguments` string, sent verbatim."""


@dataclass(frozen=True)
class Directives:
    """Directives found in one user message."""

    rounds: tuple[tuple[PlannedCall, ...], ...] = ()
    """Tool-call rounds in order; each round's calls are issued in parallel."""
    reply: str | None = None
    """Exact final text from `[[reply ...]]`, if present."""
    prompt: str = ""
    """The message text with the directives removed and whitespace collapsed."""


def _balanced(segment: str) -> bool:
    depth = 0
    in_string = escaped = False
    for char in segment:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


def _find_close(text: str, start: int) -> int:
    first = -1
    pos = text.find("]]", start)
    while pos != -1:
        if first == -1:
            first = pos
        if _balanced(text[start:pos]):
            return pos
        pos = text.find("]]", pos + 1)
    return first


def parse_directives(text: str) -> Directives:
    """Find the directives in a user message.

    Args:
        text: The message text.

    Returns:
        The parsed directives (empty when there are none).
    """
    rounds: list[list[PlannedCall]] = [[]]
    reply: str | None = None
    kept: list[str] = []
    cursor = 0
    for match in _OPEN.finditer(text):
        if match.start() < cursor:
            continue  # inside an earlier directive's ARGS
        body_start = match.end()
        close = _find_close(text, body_start)
        if close == -1:
            break  # unterminated: treat the rest as plain text
        kept.append(text[cursor : match.start()])
        cursor = close + 2
        body = text[body_start:close]
        kind = match.group(1)
        if kind == "then":
            rounds.append([])
            continue
        body = body[1:] if body[:1].isspace() else body  # one separator, the rest is raw
        if kind == "reply":
            reply = body if reply is None else reply
            continue
        name_match = _NAME.match(body)
        if name_match is None:
            continue
        args = body[name_match.end() :]
        args = args[1:] if args[:1].isspace() else args
        rounds[-1].append(PlannedCall(name_match.group(), args))
    kept.append(text[cursor:])
    groups = tuple(tuple(group) for group in rounds if group)
    return Directives(
        rounds=groups,
        reply=reply,
        prompt=" ".join("".join(kept).split()),
    )

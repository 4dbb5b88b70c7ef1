"""A rough count of a conversation's prompt tokens, with no imports beyond the standard library.

A leaf module on purpose: the agent's context trim and budget checks count tokens on
every turn, and importing this must not pull in the ledger's store (SQLAlchemy), the
catalog or the gateway, so that ``chat`` can send its request before those load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_CHARS_PER_TOKEN = 4
_TOKENS_PER_MESSAGE = 4
"""Role and framing tokens each chat message adds, roughly, on OpenAI-style models."""


def rough_token_count(messages: Sequence[Mapping[str, Any]]) -> int:
    """A quick over-the-thumb count of a conversation's prompt tokens (4 characters each).

    Good enough for a pre-request budget check; not a tokenizer. Additive: the sum of
    :func:`message_token_count` over the messages.
    """
    return sum(map(message_token_count, messages))


def message_token_count(message: Mapping[str, Any]) -> int:
    """:func:`rough_token_count` of one message, without a sequence to hold it."""
    content = message.get("content")
    # Exact types first: history messages are plain dicts holding str (or no content
    # beside tool calls), and isinstance against the Mapping ABC costs several times a
    # type check.
    if type(content) is str:
        total = _TOKENS_PER_MESSAGE + len(content) // _CHARS_PER_TOKEN
    elif content is None:
        total = _TOKENS_PER_MESSAGE
    else:
        total = _TOKENS_PER_MESSAGE + _text_length(content) // _CHARS_PER_TOKEN
    calls = message.get("tool_calls")
    if calls:
        for call in calls:
            if type(call) is dict:
                function = call.get("function")
            else:
                function = call.get("function") if isinstance(call, Mapping) else None
            if type(function) is dict or isinstance(function, Mapping):
                arguments = function.get("arguments")
                if type(arguments) is str:
                    total += len(arguments) // _CHARS_PER_TOKEN
                else:
                    total += _text_length(arguments) // _CHARS_PER_TOKEN
    return total


def _text_length(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(
            len(part.get("text") or "")
            for part in content
            if type(part) is dict or isinstance(part, Mapping)
        )
    return 0

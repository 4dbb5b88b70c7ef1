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

    Good enough for a pre-request budget check; not a tokenizer.
    """
    total = 0
    for message in messages:
        total += _TOKENS_PER_MESSAGE + _text_length(message.get("content")) // _CHARS_PER_TOKEN
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                total += _text_length(function.get("arguments")) // _CHARS_PER_TOKEN
    return total


def _text_length(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return 0

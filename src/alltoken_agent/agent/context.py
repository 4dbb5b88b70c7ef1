"""Fitting a conversation into a model's context window.

The oldest turns go first; a turn is a user message and everything after it up to
the next user message, so an assistant tool call never loses its results. The
system prompt and the current turn always stay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from alltoken_agent.errors import ContextLengthError
from alltoken_agent.ledger.tokens import rough_token_count

ContextPolicy = Literal["trim", "fail"]

ASSUMED_CONTEXT = 8000
"""Requests below this many tokens fit every current chat model, so their model's
context length is not looked up (a catalog request) unless it is already known."""

DEFAULT_RESERVE = 1024
"""Tokens kept free for the reply when the request sets no ``max_tokens``."""


@dataclass(frozen=True)
class Fit:
    """The messages to send, and what was left out to make them fit."""

    messages: list[dict[str, Any]]
    dropped: int
    """Messages left out (whole turns)."""
    tokens_before: int
    tokens_after: int


def schema_tokens(fields: dict[str, Any]) -> int:
    """A rough token count of a request's tool schemas."""
    tools = fields.get("tools")
    return len(json.dumps(tools)) // 4 if tools else 0


def request_tokens(messages: Sequence[dict[str, Any]], fields: dict[str, Any]) -> int:
    """A rough token count of a request: its messages plus its tool schemas."""
    return rough_token_count(messages) + schema_tokens(fields)


def fit_messages(
    messages: list[dict[str, Any]],
    fields: dict[str, Any],
    *,
    limit: int,
    policy: ContextPolicy,
) -> Fit:
    """Return ``messages`` trimmed to fit ``limit`` tokens with room for the reply.

    Raises:
        ContextLengthError: The policy is ``fail`` and the request is too long, or
            even the system prompt and the current turn alone do not fit.
    """
    reserve = fields.get("max_tokens") or DEFAULT_RESERVE
    budget = limit - reserve
    before = request_tokens(messages, fields)
    if before <= budget:
        return Fit(messages, 0, before, before)
    if policy == "fail":
        raise ContextLengthError(
            f"the conversation needs about {before} tokens plus {reserve} for the reply, "
            f"over the model's context of {limit}; clear the history or let the agent "
            "trim it (context_policy='trim')"
        )
    head = messages[:1] if messages and messages[0].get("role") == "system" else []
    body = messages[len(head) :]
    fixed = schema_tokens(fields) + message_tokens(head)
    # One count per message and a running total: dropping a turn subtracts its messages
    # instead of recounting what is kept, so the trim is linear in the history.
    sizes = [message_tokens((m,)) for m in body]
    remaining = fixed + sum(sizes)
    starts = [i for i, m in enumerate(body) if m.get("role") == "user"]
    # Drop whole turns from the oldest, keeping at least the last one.
    dropped_until = 0
    for start in starts[1:]:
        remaining -= sum(sizes[dropped_until:start])
        dropped_until = start
        if remaining <= budget:
            return Fit(head + body[start:], start, before, remaining)
    if starts:
        remaining -= sum(sizes[dropped_until : starts[-1]])
    smallest = remaining
    raise ContextLengthError(
        f"even the current message needs about {smallest} tokens plus {reserve} for the "
        f"reply, over the model's context of {limit}; shorten the message or the system prompt"
    )


def message_tokens(messages: Iterable[dict[str, Any]]) -> int:
    """A rough token count of ``messages`` alone (no schemas); additive over messages."""
    return rough_token_count(tuple(messages))

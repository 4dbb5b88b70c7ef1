"""Fitting a conversation into a model's context window.

The oldest turns go first; a turn is a user message and everything after it up to
the next user message, so an assistant tool call never loses its results. The
system prompt and the current turn always stay.
"""

from __future__ import annotations

import asyncio
import json
import operator
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, compress, count, repeat
from typing import Any, Literal

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import ContextLengthError
from alltoken_agent.ledger.tokens import message_token_count, rough_token_count

ContextPolicy = Literal["trim", "fail"]

ASSUMED_CONTEXT = 8000
"""Requests below this many tokens fit every current chat model, so their model's
context length is not looked up (a catalog request) unless it is already known."""

DEFAULT_RESERVE = 1024
"""Tokens kept free for the reply when the request sets no ``max_tokens``."""


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Fit(FrozenValue):
    """The messages to send, and what was left out to make them fit."""

    messages: list[dict[str, Any]]
    dropped: int
    """Messages left out (whole turns)."""
    tokens_before: int
    tokens_after: int

    def __init__(
        self, messages: list[dict[str, Any]], dropped: int, tokens_before: int, tokens_after: int
    ) -> None:
        fields = self.__dict__
        fields["messages"] = messages
        fields["dropped"] = dropped
        fields["tokens_before"] = tokens_before
        fields["tokens_after"] = tokens_after


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
    counts: Counts | None = None,
) -> Fit:
    """Return ``messages`` trimmed to fit ``limit`` tokens with room for the reply.

    ``counts`` are the messages' own counts and where their user messages are (as
    :class:`TokenCounts` keeps them), so a long history is not read again here.

    Raises:
        ContextLengthError: The policy is ``fail`` and the request is too long, or
            even the system prompt and the current turn alone do not fit.
    """
    reserve = fields.get("max_tokens") or DEFAULT_RESERVE
    budget = limit - reserve
    if counts is None:
        counts = count_messages(messages)
    before = sum(counts.sizes) + schema_tokens(fields)
    if before <= budget:
        return Fit(messages, 0, before, before)
    if policy == "fail":
        raise ContextLengthError(
            f"the conversation needs about {before} tokens plus {reserve} for the reply, "
            f"over the model's context of {limit}; clear the history or let the agent "
            "trim it (context_policy='trim')"
        )
    h = 1 if messages and messages[0].get("role") == "system" else 0
    # Dropping the messages before messages[start] leaves before - (dropped[start] -
    # dropped[h]) tokens, where dropped holds the running sums of the counts:
    # non-decreasing, so the first turn start that fits is a binary search. Each step
    # runs in C: the fit is linear, about a millisecond for tens of thousands of messages.
    dropped = [0, *accumulate(counts.sizes)]
    starts = [u for u in counts.users if u >= h]
    # Drop whole turns from the oldest, keeping at least the last one.
    later = starts[1:]
    first = bisect_left(later, before - budget + dropped[h], key=dropped.__getitem__)
    if first < len(later):
        start = later[first]
        kept = before - (dropped[start] - dropped[h])
        return Fit(messages[:h] + messages[start:], start - h, before, kept)
    smallest = before - (dropped[starts[-1]] - dropped[h]) if starts else before
    raise ContextLengthError(
        f"even the current message needs about {smallest} tokens plus {reserve} for the "
        f"reply, over the model's context of {limit}; shorten the message or the system prompt"
    )


def message_tokens(messages: Iterable[dict[str, Any]]) -> int:
    """A rough token count of ``messages`` alone (no schemas); additive over messages."""
    return rough_token_count(tuple(messages))


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Counts(FrozenValue):
    """Each message's rough token count, and the positions of the user messages."""

    sizes: list[int]
    """:func:`message_tokens` of each message, in order."""
    users: list[int]
    """Indexes of the messages whose role is ``user`` (where turns start), ascending."""

    def __init__(self, sizes: list[int], users: list[int]) -> None:
        fields = self.__dict__
        fields["sizes"] = sizes
        fields["users"] = users


def count_messages(messages: Sequence[dict[str, Any]], start: int = 0) -> Counts:
    """The :class:`Counts` of ``messages``, positions counted from ``start``."""
    return Counts(list(map(message_token_count, messages)), list(_users(messages, start)))


def _users(messages: Sequence[dict[str, Any]], start: int) -> Iterator[int]:
    """The positions of the user messages, counted from ``start``: in C, for any length."""
    roles = map(dict.get, messages, repeat("role"))
    return compress(count(start), map(operator.eq, roles, repeat("user")))


class TokenCounts:
    """The :class:`Counts` of a history that grows at its end, kept between requests.

    A turn fits its history to the model's context before every request. Counting a
    history of many thousand messages takes milliseconds, on the event loop; kept
    here, each request counts only the messages added since the last one (a history
    whose counted messages were edited, not just added to, is counted again), and
    a long stretch of new messages is counted in slices with the loop let go between
    them, so no request holds the loop for long however long the history is.

    Most requests need only the total (to tell whether the model's context length is
    worth looking up): the user positions, which only a fit reads, are brought up to
    date when one asks for the counts (:meth:`counts`, :meth:`count`), each message's
    role read once.
    """

    # Slots, and no Counts object until one is asked for: an agent makes one of these.
    __slots__ = ("_messages", "_roles_read", "_sizes", "_users", "total")

    SLICE = 1000
    """Messages counted between two returns to the event loop (about half a ms)."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []
        self._sizes: list[int] = []
        self._users: list[int] = []
        self._roles_read = 0
        """How many of the counted messages have their user positions in ``_users``."""
        self.total = 0
        """The sum of the counts: kept as they are added, not summed per request."""

    def count_now(self, history: list[dict[str, Any]]) -> int | None:
        """Count ``history`` without a wait, when at most ``SLICE`` messages are new: its total.

        A turn's requests add a few messages each: those are counted here, with no
        coroutine to make per request. None leaves the counts as they were (await
        ``count``, which lets the loop run between slices).
        """
        known = self._known(history)
        if known is None or len(history) - known > self.SLICE:
            return None
        self._add(history, known, len(history))
        return self.total

    async def count(self, history: list[dict[str, Any]]) -> Counts:
        """The counts of ``history``; read them before the next call (they are kept here)."""
        known = self._known(history)
        if known is None:  # edited in place, or another history: count it again
            known = 0
            # New lists: counts handed out before stay as they were.
            self._messages, self._sizes, self._users = [], [], []
            self._roles_read = 0
            self.total = 0
        stop = len(history)
        while known < stop:
            upto = min(known + self.SLICE, stop)
            self._add(history, known, upto)
            self.counts()  # the slice's user positions too, within the slice's hold
            known = upto
            if known < stop:
                await asyncio.sleep(0)  # let the loop run between slices
        return self.counts()

    def counts(self) -> Counts:
        """The counts of the messages counted so far, user positions included."""
        read, stop = self._roles_read, len(self._messages)
        if read < stop:
            self._users.extend(_users(self._messages[read:], read))
            self._roles_read = stop
        return Counts(self._sizes, self._users)

    def _known(self, history: list[dict[str, Any]]) -> int | None:
        """How many of ``history``'s first messages are counted; None: none of it can stay."""
        seen = self._messages
        known = len(seen)
        # The counted messages must still be there, each the same object or an equal
        # one (which counts the same): list equality tries identity first, in C.
        if known > len(history) or history[:known] != seen:
            return None
        return known

    def _add(self, history: list[dict[str, Any]], start: int, stop: int) -> None:
        """Count ``history[start:stop]``, the messages right after those counted."""
        # A plain loop: map() over a Python function enters the interpreter again for
        # each message, which for a request's few costs more than the loop itself.
        new = history[start:stop]
        sizes, total = self._sizes, self.total
        for message in new:
            size = message_token_count(message)
            total += size
            sizes.append(size)
        self.total = total
        self._messages += new

"""Loading only the newest part of a long session: as much as a token budget can hold.

A session of thousands of turns cannot be sent whole; reading, decoding and copying
every stored message just to leave most of them out is what made a message in such
a session slow. :func:`load_recent` reads newest first, in batches, and stops once
the budget is spent. It keeps whole turns (a user message and everything after it up
to the next one), so an assistant's tool call never loses its results, and the
history it returns starts at a user message unless the whole session fits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store import schema
from alltoken_agent.store.engine import Database

_messages = schema.messages
_sessions = schema.sessions

LONG_SESSION = 1000
"""Stored messages up to which a session's whole history is read for a turn (cheap, and
no context length needs looking up); past it, only the newest whole turns that can fit
the model's context (:func:`load_recent`)."""

FIRST_BATCH = 256
"""Messages read by the first query. Each later one reads about as many as the budget
left should still hold, judged by the messages read so far (a tenth more, at least
this many, at most :data:`LARGEST_BATCH`): a short session costs one query, a long
one mostly two, and few messages are read and decoded only to be left out."""
LARGEST_BATCH = 4096

Measure = Callable[[Mapping[str, Any]], int]
"""A message's rough token count (the agent's estimate; the store knows no tokens)."""


Older = Callable[[int | None, int], Sequence[tuple[int, Any]]]
"""Reads up to ``size`` stored messages before position ``before`` (None: from the
newest), as (position, message), newest first: a store's faster read of a batch."""


class UnknownSessionError(LookupError):
    """No session has the id (the repository turns it into its ``UserError``)."""


@dataclass(frozen=True)
class HistoryFit:
    """How far a turn reads a long session: its model's token budget, and each message's count.

    ``budget`` takes the session's model (None: it names none) and answers its context
    window, None when that is unknown (the whole history is read then). It is called
    inside the store's transaction, so it looks the number up, it never fetches it.
    """

    budget: Callable[[str | None], int | None]
    measure: Measure


def load_recent(
    db: Database, session_id: str, *, budget: int, measure: Measure
) -> list[dict[str, Any]]:
    """The session's newest whole turns whose ``measure`` sums to at most ``budget``.

    Messages spooled while the store was locked are the newest of all. When every
    message fits, the whole history comes back, as ``load_messages`` would return it.
    The batches are read in one read transaction, so they are one snapshot.

    Raises:
        UnknownSessionError: No session has this id.
    """
    spooled = [] if db.spool is None else db.spool.messages_of(session_id)
    with db.read() as conn:
        if conn.scalar(sa.select(_sessions.c.id).where(_sessions.c.id == session_id)) is None:
            raise UnknownSessionError(session_id)
        return recent_in(conn, session_id, budget=budget, measure=measure, spooled=spooled)


def recent_in(
    conn: Connection,
    session_id: str,
    *,
    budget: int,
    measure: Measure,
    spooled: Sequence[dict[str, Any]] = (),
    newest: Sequence[tuple[int, Any]] = (),
    older: Older | None = None,
) -> list[dict[str, Any]]:
    """:func:`load_recent` on an open connection, oldest first.

    ``newest``: the stored messages read already, as (position, message), newest first;
    reading goes on from the oldest of them (a server turn reads the newest thousand to
    tell a long session, and continues from there), with ``older`` when given.
    """
    kept: list[dict[str, Any]] = []  # newest first
    fitting = 0  # how many of ``kept`` form whole turns within the budget
    total = 0

    def next_batch() -> int:
        if not kept or total <= 0:
            return FIRST_BATCH
        still = (budget - total) * len(kept) // total  # messages the rest should hold
        return max(FIRST_BATCH, min(LARGEST_BATCH, still + still // 10))

    read = older or functools.partial(_older, conn, session_id)
    for message in _newest_first(spooled, newest, read, next_batch):
        total += measure(message)
        if total > budget:
            return kept[:fitting][::-1]
        kept.append(message)
        if message.get("role") == "user":
            fitting = len(kept)
    return kept[::-1]


def _newest_first(
    spooled: Sequence[dict[str, Any]],
    newest: Sequence[tuple[int, Any]],
    older: Older,
    next_batch: Callable[[], int],
) -> Iterator[dict[str, Any]]:
    """The spooled messages, then the stored ones, newest first, in batches of ``next_batch()``."""
    yield from reversed(spooled)
    for _, message in newest:
        yield message
    before: int | None = newest[-1][0] if newest else None  # read on from the oldest of them
    while True:
        size = next_batch()
        rows = older(before, size)
        for position, message in rows:
            before = position
            yield message
        if len(rows) < size:
            return


def _older(
    conn: Connection, session_id: str, before: int | None, size: int
) -> Sequence[tuple[int, Any]]:
    query = sa.select(_messages.c.position, _messages.c.message).where(
        _messages.c.session_id == session_id
    )
    if before is not None:
        query = query.where(_messages.c.position < before)
    rows = conn.execute(query.order_by(_messages.c.position.desc()).limit(size)).all()
    return [(position, message) for position, message in rows]

"""Finding stored prompts and replies (``alltoken-agent logs``) and what a session spent.

On SQLite the text of every user and assistant message is kept in the FTS5 table
``messages_fts`` (migration ``m010_messages_fts``), and a search is one ``MATCH``,
best matches first. PostgreSQL, and a SQLite built without FTS5, search the stored
message JSON with a case-insensitive ``ILIKE``/``LIKE`` on each word instead, newest
first: slower on a large history, same results for plain words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store import schema
from alltoken_agent.store.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository
from alltoken_agent.store.usage_sums import sum_usage

_messages = schema.messages
_sessions = schema.sessions
_FTS = "messages_fts"
MAX_QUERY = 1000
"""Characters of a search text; longer is a usage error, not a slow query."""


@dataclass(frozen=True)
class LoggedMessage:
    """One stored prompt or reply, with the session it belongs to."""

    session_id: str
    session_name: str | None
    model: str | None
    position: int
    role: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Spend:
    """What a session's real requests cost, as the ledger knows it."""

    requests: int
    """Real (not simulated) requests recorded under the session's name."""
    known: Decimal
    """The sum of the costs that are known."""
    unknown: int
    """Requests whose cost is unknown (never counted as 0)."""

    @property
    def total(self) -> Decimal | None:
        """The spend, or None when it is unknown (no request, or one without a cost)."""
        if self.requests == 0 or self.unknown:
            return None
        return self.known


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a stored message: its content string, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def search_messages(
    store: Store,
    text: str | None,
    *,
    session_id: str | None = None,
    limit: int = 20,
    owner: str | None = None,
) -> list[LoggedMessage]:
    """The user and assistant messages matching every word of ``text`` (all when None).

    Best matches first with FTS5, else (and with no text) newest first; at most
    ``limit``, scoped to ``owner``'s sessions (None: local) and to one session if given.
    """
    db = store._db  # same package: the store's own database
    words = (text or "").split()
    m, s = _messages.c, _sessions.c
    owner_is = s.owner.is_(None) if owner is None else s.owner == owner
    query = (
        sa.select(s.id, s.name, s.model, m.position, m.message, m.created_at)
        .select_from(_messages.join(_sessions, m.session_id == s.id))
        .where(owner_is)
        .limit(limit)
    )
    if session_id is not None:
        query = query.where(s.id == session_id)
    with db.read() as conn:
        if words and _has_fts(conn):
            fts = sa.table(_FTS, sa.column("rowid"), sa.column("rank"))
            match = sa.text(f"{_FTS} MATCH :match").bindparams(match=_fts_query(words))
            query = (
                query.join_from(_messages, fts, fts.c.rowid == m.id)
                .where(match)
                .order_by(fts.c.rank, m.id.desc())
            )
        else:
            query = query.where(_role(conn).in_(("user", "assistant"))).order_by(m.id.desc())
            as_text = sa.cast(m.message, sa.Text())
            for word in words:
                query = query.where(as_text.ilike(f"%{_escape_like(word)}%", escape="\\"))
        rows = list(conn.execute(query))
    found = []
    for sid, name, model, position, message, created_at in rows:
        body = message if isinstance(message, Mapping) else {}
        found.append(
            LoggedMessage(
                session_id=sid,
                session_name=name,
                model=model,
                position=position,
                role=str(body.get("role", "")),
                text=message_text(body),
                created_at=created_at,
            )
        )
    return found


def session_spend(
    store: Store, names: Iterable[str], *, simulated: bool = False
) -> dict[str, Spend]:
    """The spend of the sessions with these names, in one book: real, or ``simulated``."""
    wanted = set(names)
    if not wanted:
        return {}
    query = UsageQuery(simulated=simulated)
    groups = sum_usage(UsageRepository(store._db), query, by="session")
    spends: dict[str, Spend] = {}
    for group in groups:
        if group.key not in wanted:
            continue
        known, counted = group.cost, group.plain_costs
        for cost in group.other_costs:
            try:
                if Decimal(cost).is_finite() and cost >= 0:
                    known, counted = known + cost, counted + 1
            except InvalidOperation:
                pass  # not a cost: left unknown
        spends[group.key] = Spend(group.requests, known, group.requests - counted)
    return spends


def session_facts(store: Store, ids: Iterable[str]) -> dict[str, tuple[int, str | None]]:
    """Per session id: its turns (user messages) and the text of its first prompt."""
    wanted = list(ids)
    if not wanted:
        return {}
    m = _messages.c
    with store._db.read() as conn:
        role = _role(conn)
        is_user = role == "user"
        counted = conn.execute(
            sa.select(m.session_id, sa.func.count())
            .where(m.session_id.in_(wanted) & is_user)
            .group_by(m.session_id)
        )
        turns: dict[str, int] = {sid: int(n) for sid, n in counted}
        first = (
            sa.select(m.session_id, sa.func.min(m.position).label("position"))
            .where(m.session_id.in_(wanted) & is_user)
            .group_by(m.session_id)
            .subquery()
        )
        prompts = conn.execute(
            sa.select(m.session_id, m.message).join(
                first, (m.session_id == first.c.session_id) & (m.position == first.c.position)
            )
        ).all()
    texts = {sid: message_text(msg) for sid, msg in prompts if isinstance(msg, Mapping)}
    return {sid: (int(turns.get(sid, 0)), texts.get(sid)) for sid in wanted}


def _role(conn: Connection) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return _messages.c.message.op("->>")("role")
    message = _messages.c.message
    # A row that is not valid JSON (hand-edited) has no role rather than failing the read.
    return sa.case(
        (sa.func.json_valid(message) == 1, sa.func.json_extract(message, "$.role")),
        else_=sa.null(),
    )


def _has_fts(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite" and sa.inspect(conn).has_table(_FTS)


def _fts_query(words: list[str]) -> str:
    # Each word quoted as an FTS5 string, so punctuation and keywords (AND, NEAR, a
    # trailing "?") are text to find, not query syntax that fails.
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

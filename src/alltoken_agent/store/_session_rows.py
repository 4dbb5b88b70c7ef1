"""The SQL on one session's rows inside an open transaction: read, write, lock, rename.

Shared by :class:`~alltoken_agent.store.sessions.SessionRepository`, which opens the
transactions, and the spool's replay (:mod:`.replay`), which stores a turn kept while
the database stayed locked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.errors import UserError
from alltoken_agent.store import schema
from alltoken_agent.store._driver_sql import execute_rows
from alltoken_agent.store.records import SessionRecord, new_session_id
from alltoken_agent.store.usage import usage as _usage

_sessions = schema.sessions
_messages = schema.messages
_message_count = (
    sa.select(sa.func.count())
    .where(_messages.c.session_id == _sessions.c.id)
    .correlate(_sessions)
    .scalar_subquery()
    .label("message_count")
)
RECORDS = sa.select(*_sessions.c, _message_count)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def owned_by(owner: str | None) -> sa.ColumnElement[bool]:
    return _sessions.c.owner.is_(None) if owner is None else _sessions.c.owner == owner


LEASE_COLUMNS = frozenset({"lease_owner", "lease_until"})
"""The session lease's columns (m008_session_lease), not part of :class:`SessionRecord`."""


def select_record(conn: Connection, condition: sa.ColumnElement[bool]) -> SessionRecord | None:
    """Return the session matching ``condition``, with its message count, or None."""
    row = conn.execute(RECORDS.where(condition)).first()
    return None if row is None else SessionRecord.from_row(row._mapping)


def append_in(conn: Connection, session_id: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` after the session's last message, in the open transaction.

    Raises:
        UserError: No session has this id.
    """
    lock_session(conn, session_id)
    if not rows:
        return
    last = conn.scalar(
        sa.select(sa.func.max(_messages.c.position)).where(_messages.c.session_id == session_id)
    )
    insert_messages(conn, session_id, rows, start=0 if last is None else last + 1)


def update_in(conn: Connection, session_id: str, values: Mapping[str, Any]) -> SessionRecord:
    """Set the session's ``values`` (model, instructions, metadata) in the open transaction.

    Raises:
        UserError: No session has this id.
    """
    if values:
        conn.execute(
            sa.update(_sessions)
            .where(_sessions.c.id == session_id)
            .values(**values, updated_at=utc_now())
        )
    record = select_record(conn, _sessions.c.id == session_id)
    if record is None:
        raise unknown_session(session_id)
    return record


def rename_in(conn: Connection, session_id: str, name: str, owner: str | None) -> bool:
    """Give ``owner``'s session ``name`` (its ledger rows follow); False if there is none.

    Raises:
        UserError: Another of ``owner``'s sessions has that name.
    """
    taken = select_record(conn, name_is(name, owner))
    if taken is not None and taken.id != session_id:
        raise UserError(duplicate_name(name, owner))
    mine = (_sessions.c.id == session_id) & owned_by(owner)
    old = conn.scalar(sa.select(_sessions.c.name).where(mine))
    # updated_at stays: a rename is not a use (`chat -c` picks the last used).
    result = conn.execute(sa.update(_sessions).where(mine).values(name=name))
    if result.rowcount and old is not None:
        # The ledger tags requests with the session's name: its spend follows.
        of_owner = _usage.c.owner.is_(None) if owner is None else _usage.c.owner == owner
        conn.execute(
            sa.update(_usage).where((_usage.c.session == old) & of_owner).values(session=name)
        )
    return bool(result.rowcount)


def name_is(name: str, owner: str | None) -> sa.ColumnElement[bool]:
    return (_sessions.c.name == name) & owned_by(owner)


def duplicate_name(name: str, owner: str | None) -> str:
    scope = "locally" if owner is None else f"for owner {owner!r}"
    return f"a session named {name!r} already exists {scope}; choose another name or use it"


def unknown_session(session_id: str) -> UserError:
    return UserError(f"no session has the id {session_id!r}; list sessions to find it")


def insert_session(
    conn: Connection,
    name: str | None,
    owner: str | None,
    model: str | None,
    instructions: str | None,
    metadata: dict[str, Any],
) -> SessionRecord:
    now = utc_now()
    record = SessionRecord(
        id=new_session_id(),
        name=name,
        owner=owner,
        model=model,
        instructions=instructions,
        metadata=metadata,
        created_at=now,
        updated_at=now,
        message_count=0,
    )
    # The lease columns start empty: nobody runs a turn of a session being created.
    values = {
        field: getattr(record, field) for field in _sessions.c.keys() if field not in LEASE_COLUMNS
    }
    conn.execute(sa.insert(_sessions).values(values))
    return record


def lock_session(conn: Connection, session_id: str) -> None:
    """Lock the session's row until commit (FOR UPDATE; SQLite's write lock covers it)."""
    query = sa.select(_sessions.c.id).where(_sessions.c.id == session_id).with_for_update()
    if conn.scalar(query) is None:
        raise unknown_session(session_id)


def insert_messages(
    conn: Connection, session_id: str, rows: list[dict[str, Any]], *, start: int
) -> None:
    now = utc_now()
    if rows:
        execute_rows(
            conn,
            sa.insert(_messages),
            [
                {"session_id": session_id, "position": start + i, "message": row, "created_at": now}
                for i, row in enumerate(rows)
            ],
        )
    conn.execute(sa.update(_sessions).where(_sessions.c.id == session_id).values(updated_at=now))

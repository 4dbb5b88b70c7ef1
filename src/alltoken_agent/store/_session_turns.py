"""The SQL of one server turn on a session, inside an open transaction: lease, history, save.

A server turn used to cost six store calls, each its own transaction and its own trip to
a store thread (read the session, take its lease, read its history, append the turn,
give the lease up, plus the ledger's row). Under load those trips and SQLAlchemy's
per-statement work were half of the server's CPU per message. Here a turn is two:

- :func:`open_in`: take the lease (a conditional ``UPDATE ... RETURNING`` of the
  session's columns, so the session is read by the same statement), then its history;
- :func:`close_in`: append the turn and give the lease up, in one transaction.

The statements are built once, with bind parameters: SQLAlchemy then reuses their
compiled form and cache key instead of building a statement tree per call. The lease
keeps its meaning across replicas on one database (one conditional UPDATE decides, on
SQLite and PostgreSQL alike; see ``SessionRepository.take_lease``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store import schema
from alltoken_agent.store._session_rows import LEASE_COLUMNS, unknown_session, utc_now
from alltoken_agent.store.records import SessionRecord

_sessions = schema.sessions
_messages = schema.messages
_c = _sessions.c

_FREE: Final = (
    _c.lease_owner.is_(None)
    | _c.lease_until.is_(None)
    | (_c.lease_until <= sa.bindparam("now"))
    | (_c.lease_owner == sa.bindparam("holder"))
    # Bound to NULL when there is no dead holder to take over from: never true.
    | (_c.lease_owner == sa.bindparam("steal"))
)
"""Whether ``holder`` may take the session's lease: nobody holds it, it ran out, or it is
``holder``'s already (a renewal) or ``steal``'s (a holder known to be dead)."""

_TAKE: Final = (
    sa.update(_sessions)
    .where((_c.id == sa.bindparam("sid")) & _FREE)
    .values(lease_owner=sa.bindparam("holder"), lease_until=sa.bindparam("until"))
)
_LEASE_OWNER: Final = sa.select(_c.lease_owner).where(_c.id == sa.bindparam("sid"))

_RECORD_COLUMNS: Final = [column for column in _c if column.name not in LEASE_COLUMNS]


def _open_statement(owned: bool) -> sa.Update:
    mine = _c.owner == sa.bindparam("owner_id") if owned else _c.owner.is_(None)
    return (
        sa.update(_sessions)
        .where((_c.id == sa.bindparam("sid")) & mine & _FREE)
        .values(lease_owner=sa.bindparam("holder"), lease_until=sa.bindparam("until"))
        .returning(*_RECORD_COLUMNS)
    )


_OPEN: Final = {True: _open_statement(True), False: _open_statement(False)}
"""Take the lease and return the session's columns; keyed by "has an owner"."""

_OWNER_AND_LEASE: Final = sa.select(_c.owner, _c.lease_owner).where(_c.id == sa.bindparam("sid"))

_HISTORY: Final = (
    sa.select(_messages.c.message)
    .where(_messages.c.session_id == sa.bindparam("sid"))
    .order_by(_messages.c.position)
)

_HOLDS: Final = _c.lease_owner == sa.bindparam("holder")
_RELEASE: Final = (
    sa.update(_sessions)
    .where((_c.id == sa.bindparam("sid")) & _HOLDS)
    .values(lease_owner=None, lease_until=None)
)
_TOUCH_AND_RELEASE: Final = (
    sa.update(_sessions)
    .where(_c.id == sa.bindparam("sid"))
    .values(
        updated_at=sa.bindparam("now"),
        # SET sees the row as it was: both columns test the old lease owner.
        lease_owner=sa.case((_HOLDS, sa.null()), else_=_c.lease_owner),
        lease_until=sa.case((_HOLDS, sa.null()), else_=_c.lease_until),
    )
    .returning(_c.id)
)
"""Bump ``updated_at``, give ``holder``'s lease up, and lock the row (an UPDATE locks it
on PostgreSQL, as ``lock_session``'s FOR UPDATE does), in one statement."""

_LAST_POSITION: Final = sa.select(sa.func.max(_messages.c.position)).where(
    _messages.c.session_id == sa.bindparam("sid")
)
_INSERT_MESSAGE: Final = sa.insert(_messages)


def _lease_params(
    session_id: str, holder: str, seconds: float, steal_from: str | None
) -> dict[str, Any]:
    now = utc_now()
    return {
        "sid": session_id,
        "holder": holder,
        "steal": steal_from,
        "now": now,
        "until": now + timedelta(seconds=seconds),
    }


def take_in(
    conn: Connection, session_id: str, holder: str, seconds: float, steal_from: str | None
) -> str | None:
    """Lease the session to ``holder`` if it is free; who holds it now (None: no session)."""
    params = _lease_params(session_id, holder, seconds, steal_from)
    if conn.execute(_TAKE, params).rowcount:
        return holder
    owner: str | None = conn.scalar(_LEASE_OWNER, {"sid": session_id})
    return owner


def release_in(conn: Connection, session_id: str, holder: str) -> None:
    """Give up ``holder``'s lease on the session (nothing happens if another holds it)."""
    conn.execute(_RELEASE, {"sid": session_id, "holder": holder})


def open_in(
    conn: Connection,
    session_id: str,
    owner: str | None,
    holder: str,
    seconds: float,
    steal_from: str | None,
) -> tuple[str | None, SessionRecord | None, list[Any]]:
    """Lease ``owner``'s session to ``holder`` and read it and its stored messages.

    Returns:
        Who holds the lease now (None: ``owner`` has no such session), the session when
        ``holder`` got the lease (else None), and its stored messages, oldest first
        (empty unless the lease was taken).
    """
    params = _lease_params(session_id, holder, seconds, steal_from)
    params["owner_id"] = owner
    row = conn.execute(_OPEN[owner is not None], params).first()
    if row is None:
        found = conn.execute(_OWNER_AND_LEASE, {"sid": session_id}).first()
        if found is None or found.owner != owner:
            return None, None, []
        return found.lease_owner, None, []
    stored = list(conn.scalars(_HISTORY, {"sid": session_id}))
    record = SessionRecord.from_row({**row._mapping, "message_count": len(stored)})
    return holder, record, stored


def close_in(conn: Connection, session_id: str, holder: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` after the session's last message and give up ``holder``'s lease.

    Without rows only the lease is given up (``updated_at`` stays: nothing was said).

    Raises:
        UserError: No session has this id (and there are rows to append).
    """
    if not rows:
        release_in(conn, session_id, holder)
        return
    now = utc_now()
    if conn.execute(_TOUCH_AND_RELEASE, {"sid": session_id, "holder": holder, "now": now}).first():
        last = conn.scalar(_LAST_POSITION, {"sid": session_id})
        start = 0 if last is None else last + 1
        conn.execute(
            _INSERT_MESSAGE,
            [
                {"session_id": session_id, "position": start + i, "message": row, "created_at": now}
                for i, row in enumerate(rows)
            ],
        )
        return
    raise unknown_session(session_id)

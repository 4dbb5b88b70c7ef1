"""The SQL of one server turn on a session, inside an open transaction: lease, history, save.

A server turn used to cost six store calls, each its own transaction and its own trip to
a store thread (read the session, take its lease, read its history, append the turn,
give the lease up, plus the ledger's row). Under load those trips and SQLAlchemy's
per-statement work were half of the server's CPU per message. Here a turn is two:

- :func:`open_in`: take the lease (a conditional ``UPDATE ... RETURNING`` of the
  session's columns, so the session is read by the same statement), then its history;
- :func:`close_in`: append the turn and give the lease up, in one transaction.

The statements are built once, with bind parameters: SQLAlchemy then reuses their
compiled form and cache key instead of building a statement tree per call. On SQLite
they run on the driver's cursor (:mod:`._driver_sql`): SQLAlchemy's execution was still
most of a turn's store CPU. There the open's UPDATE returns the history too, and the
save finds the last position in the same UPDATE that gives the lease up (the write lock
is held from BEGIN on): each statement run lets the GIL go (``_driver_sql.py``). The lease
keeps its meaning across replicas on one database (one conditional UPDATE decides, on
SQLite and PostgreSQL alike; see ``SessionRepository.take_lease``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from operator import itemgetter
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from alltoken_agent.store import schema
from alltoken_agent.store._driver_sql import DriverStatement, DriverStatements, execute_rows
from alltoken_agent.store._session_rows import LEASE_COLUMNS, unknown_session, utc_now
from alltoken_agent.store.history import LONG_SESSION, HistoryFit, recent_in
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

_NEWEST: Final = (
    sa.select(_messages.c.position, _messages.c.message)
    .where(_messages.c.session_id == sa.bindparam("sid"))
    .order_by(_messages.c.position.desc())
    .limit(sa.bindparam("upto"))
)
"""The session's newest ``upto`` messages with their positions, newest first: a turn
reads a session past :data:`~alltoken_agent.store.history.LONG_SESSION` messages only
as far as it can fit (``history.recent_in`` goes on from these)."""
_HISTORY: Final = (
    sa.select(_messages.c.message)
    .where(_messages.c.session_id == sa.bindparam("sid"))
    .order_by(_messages.c.position)
)
"""A long session's whole history, where its model's context length is unknown."""
_COUNT: Final = sa.select(sa.func.count()).where(_messages.c.session_id == sa.bindparam("sid"))

_JOINED_HISTORY: Final = sa.literal_column(
    "'[' || group_concat('[' || position || ',' || message || ']', ',') || ']'", sa.Text()
)
_HISTORY_ARRAY: Final = sa.select(_JOINED_HISTORY).select_from(_NEWEST.subquery())
_OLDER_ARRAY: Final = sa.select(_JOINED_HISTORY).select_from(
    _NEWEST.where(_messages.c.position < sa.bindparam("before")).subquery()
)
""":data:`_NEWEST` as one row on SQLite (:data:`_OLDER_ARRAY`: those before position
``before``): its stored JSON texts joined into ``[[position, message], ...]`` (NULL:
none), in no promised order. A row fetched is a step of the
driver, each letting go of the GIL; under load the writer thread waited for it back
after many of them, so a history of n messages cost n waits where this costs one."""

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


@dataclass(frozen=True)
class _DriverTurn:
    """The turn's statements on SQLite, run on the driver's cursor (:mod:`._driver_sql`)."""

    open: dict[bool, DriverStatement]
    """:data:`_OPEN` that also returns :data:`_HISTORY_ARRAY` (its last column): the lease
    and the history in one statement, one fewer run of the driver that lets the GIL go
    (``_driver_sql.py``). SQLite makes a RETURNING statement's rows in its first step."""
    older: DriverStatement
    close: DriverStatement
    """:data:`_TOUCH_AND_RELEASE` that also returns the session's last message position:
    one statement fewer than :data:`_LAST_POSITION` after it. Only where the write lock
    is held from BEGIN on (SQLite), so no other writer can append in between; on
    PostgreSQL a RETURNING subquery sees the snapshot taken before the row lock."""
    insert: DriverStatement
    take: DriverStatement
    """:data:`_TAKE`: a renewal runs it for every lease a server holds."""


def _driver_turn(dialect: Dialect) -> _DriverTurn:
    insert = sa.insert(_messages).values(
        session_id=sa.bindparam("sid"),
        position=sa.bindparam("pos"),
        message=sa.bindparam("msg"),
        created_at=sa.bindparam("at"),
    )
    last_position = _LAST_POSITION.scalar_subquery()
    history = _HISTORY_ARRAY.scalar_subquery()
    return _DriverTurn(
        open={
            owned: DriverStatement(
                statement.returning(history), dialect, [*_RECORD_COLUMNS, history]
            )
            for owned, statement in _OPEN.items()
        },
        older=DriverStatement(_OLDER_ARRAY, dialect, [_JOINED_HISTORY]),
        close=DriverStatement(
            _TOUCH_AND_RELEASE.returning(last_position),
            dialect,
            [_c.id, last_position],
        ),
        insert=DriverStatement(insert, dialect),
        take=DriverStatement(_TAKE, dialect),
    )


_DRIVER: Final = DriverStatements(_driver_turn)
_RECORD_NAMES: Final = [column.name for column in _RECORD_COLUMNS]


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
    driver = _DRIVER.of(conn)
    taken = driver.take.count(conn, params) if driver else conn.execute(_TAKE, params).rowcount
    if taken:
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
    fit: HistoryFit | None = None,
) -> tuple[str | None, SessionRecord | None, list[Any]]:
    """Lease ``owner``'s session to ``holder`` and read it and its stored messages.

    A session of more than :data:`~alltoken_agent.store.history.LONG_SESSION` messages
    is read only as far as ``fit`` says its model can take (its newest whole turns);
    without ``fit``, or when its budget is unknown, whole.

    Returns:
        Who holds the lease now (None: ``owner`` has no such session), the session when
        ``holder`` got the lease (else None), and its stored messages, oldest first
        (empty unless the lease was taken).
    """
    params = _lease_params(session_id, holder, seconds, steal_from)
    params["owner_id"] = owner
    # One more than a whole read may hold: that one says the session is longer.
    upto = {"sid": session_id, "upto": LONG_SESSION + 1}
    driver = _DRIVER.of(conn)
    columns: dict[str, Any] | None
    newest: list[tuple[int, Any]] = []
    if driver is not None:
        values = driver.open[owner is not None].first(conn, params | upto)
        if values is None:
            columns = None
        else:
            columns = dict(zip(_RECORD_NAMES, values[:-1], strict=True))
            newest = _pairs_of(values[-1])
    else:
        row = conn.execute(_OPEN[owner is not None], params).first()
        columns = None if row is None else dict(row._mapping)
    if columns is None:
        found = conn.execute(_OWNER_AND_LEASE, {"sid": session_id}).first()
        if found is None or found.owner != owner:
            return None, None, []
        return found.lease_owner, None, []
    if driver is None:
        newest = [(row.position, row.message) for row in conn.execute(_NEWEST, upto)]
    if len(newest) <= LONG_SESSION:
        record = SessionRecord.from_row({**columns, "message_count": len(newest)})
        return holder, record, [message for _, message in reversed(newest)]
    count = int(conn.scalar(_COUNT, {"sid": session_id}) or 0)
    record = SessionRecord.from_row({**columns, "message_count": count})
    budget = None if fit is None else fit.budget(record.model)
    if fit is None or budget is None:
        return holder, record, list(conn.scalars(_HISTORY, {"sid": session_id}))
    older = None if driver is None else partial(_older, driver.older, conn, session_id)
    stored = recent_in(
        conn, session_id, budget=budget, measure=fit.measure, newest=newest, older=older
    )
    return holder, record, stored


def _older(
    statement: DriverStatement, conn: Connection, session_id: str, before: int | None, size: int
) -> list[tuple[int, Any]]:
    """``history.Older`` on SQLite's driver: a batch as one row (:data:`_OLDER_ARRAY`)."""
    return _pairs_of(statement.value(conn, {"sid": session_id, "before": before, "upto": size}))


def _pairs_of(array: str | None) -> list[tuple[int, Any]]:
    """The (position, message) pairs of :data:`_HISTORY_ARRAY`'s row, newest first."""
    if array is None:
        return []
    pairs = [(pair[0], pair[1]) for pair in json.loads(array)]
    return sorted(pairs, key=itemgetter(0), reverse=True)


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
    driver = _DRIVER.of(conn)
    if driver is not None:
        _close_on_driver(driver, conn, session_id, holder, rows, now)
        return
    if conn.execute(_TOUCH_AND_RELEASE, {"sid": session_id, "holder": holder, "now": now}).first():
        last = conn.scalar(_LAST_POSITION, {"sid": session_id})
        start = 0 if last is None else last + 1
        execute_rows(
            conn,
            _INSERT_MESSAGE,
            [
                {"session_id": session_id, "position": start + i, "message": row, "created_at": now}
                for i, row in enumerate(rows)
            ],
        )
        return
    raise unknown_session(session_id)


def _close_on_driver(
    driver: _DriverTurn,
    conn: Connection,
    session_id: str,
    holder: str,
    rows: list[dict[str, Any]],
    now: datetime,
) -> None:
    """:func:`close_in`'s rows on SQLite: two statements, on the driver's cursor."""
    found = driver.close.first(conn, {"sid": session_id, "holder": holder, "now": now})
    if found is None:
        raise unknown_session(session_id)
    last = found[1]
    start = 0 if last is None else last + 1
    driver.insert.many(
        conn,
        [
            {"sid": session_id, "pos": start + i, "msg": row, "at": now}
            for i, row in enumerate(rows)
        ],
    )

"""The session and message repository, reached as ``store.sessions``.

Ownership rule: lookups (create, get, find, get-or-create, list, delete) are scoped to one owner,
and ``owner=None`` is the local owner, not "any owner". A server passes its key's id, so it never
sees local sessions nor another key's. Operations on a session the caller already holds (append,
load, replace, update) take its id alone: resolve the session with its owner first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from alltoken_agent._content_parts import repair_message
from alltoken_agent.errors import UserError
from alltoken_agent.store import schema
from alltoken_agent.store._errors import StoreBusyError, WriteConflictError
from alltoken_agent.store._session_rows import (
    RECORDS,
    append_in,
    duplicate_name,
    insert_messages,
    insert_session,
    lock_session,
    name_is,
    owned_by,
    rename_in,
    select_record,
    unknown_session,
    update_in,
    utc_now,
)
from alltoken_agent.store._session_turns import close_in, open_in, release_in, take_in
from alltoken_agent.store.engine import Database
from alltoken_agent.store.history import HistoryFit, Measure, UnknownSessionError, load_recent
from alltoken_agent.store.records import (
    _UNSET,
    SessionRecord,
    TurnStart,
    _Unset,
    check_limit,
    check_metadata,
    check_name,
    check_owner,
    message_rows,
)

_sessions = schema.sessions
_messages = schema.messages


class SessionRepository:
    """Sessions and their messages, in one database. Thread-safe; synchronous.

    Every method runs in one transaction of its own. Async callers wrap calls that
    may wait on a lock in :func:`asyncio.to_thread`.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def create_session(
        self,
        *,
        name: str | None = None,
        owner: str | None = None,
        model: str | None = None,
        instructions: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """Create a session and return it.

        Raises:
            UserError: ``name`` is already used by a session of the same owner.
        """
        check_name(name)
        check_owner(owner)
        meta = check_metadata(metadata)
        try:
            with self._db.write() as conn:
                if name is not None and select_record(conn, name_is(name, owner)):
                    raise UserError(duplicate_name(name, owner))
                return insert_session(conn, name, owner, model, instructions, meta)
        except WriteConflictError:
            if name is None:
                raise
            raise UserError(duplicate_name(name, owner)) from None

    def get_session(self, session_id: str, *, owner: str | None = None) -> SessionRecord | None:
        """Return the session with this id if it belongs to ``owner``, else None."""
        with self._db.read() as conn:
            return select_record(conn, (_sessions.c.id == session_id) & owned_by(owner))

    def find_session(self, name: str, *, owner: str | None = None) -> SessionRecord | None:
        """Return ``owner``'s session called ``name``, or None."""
        with self._db.read() as conn:
            return select_record(conn, name_is(name, owner))

    def get_or_create_session(
        self,
        name: str,
        *,
        owner: str | None = None,
        model: str | None = None,
        instructions: str | None = None,
    ) -> tuple[SessionRecord, bool]:
        """Return ``owner``'s session called ``name``, creating it if needed.

        Race-safe: when several threads or processes ask at once, one creates it and
        the others get that one. ``model`` and ``instructions`` only apply on creation.

        Returns:
            The session, and whether this call created it.
        """
        check_name(name)
        check_owner(owner)
        existing = self.find_session(name, owner=owner)
        if existing is not None:
            return existing, False
        try:
            with self._db.write() as conn:
                existing = select_record(conn, name_is(name, owner))
                if existing is not None:
                    return existing, False
                return insert_session(conn, name, owner, model, instructions, {}), True
        except WriteConflictError:
            # A server database let a concurrent creator commit first (SQLite's write
            # lock rules that out): the unique index refused ours, so theirs exists.
            existing = self.find_session(name, owner=owner)
            if existing is None:
                raise
            return existing, False

    def list_sessions(self, *, owner: str | None = None, limit: int = 100) -> list[SessionRecord]:
        """Return ``owner``'s sessions, most recently updated first, at most ``limit``."""
        check_limit(limit)
        query = (
            RECORDS.where(owned_by(owner))
            .order_by(_sessions.c.updated_at.desc(), _sessions.c.created_at.desc(), _sessions.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [SessionRecord.from_row(row._mapping) for row in conn.execute(query)]

    def count_sessions(self, *, owner: str | None = None, up_to: int = 100) -> int:
        """How many sessions ``owner`` keeps, counting no further than ``up_to``."""
        check_limit(up_to)
        ids = sa.select(_sessions.c.id).where(owned_by(owner)).limit(up_to).subquery()
        with self._db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(ids)).scalar_one())

    def delete_session(self, session_id: str, *, owner: str | None = None) -> bool:
        """Delete ``owner``'s session and its messages; False if there was none to delete."""
        with self._db.write() as conn:
            result = conn.execute(
                sa.delete(_sessions).where((_sessions.c.id == session_id) & owned_by(owner))
            )
            return result.rowcount > 0

    def rename_session(self, session_id: str, name: str, *, owner: str | None = None) -> bool:
        """Give ``owner``'s session a new name; False if there was no such session.

        Raises:
            UserError: ``name`` is invalid or already used by another of ``owner``'s sessions.
        """
        check_name(name)
        try:
            with self._db.write() as conn:
                return rename_in(conn, session_id, name, owner)
        except WriteConflictError:
            raise UserError(duplicate_name(name, owner)) from None

    def update_session(
        self,
        session_id: str,
        *,
        model: str | None | _Unset = _UNSET,
        instructions: str | None | _Unset = _UNSET,
        metadata: Mapping[str, Any] | None | _Unset = _UNSET,
    ) -> SessionRecord:
        """Change the given fields only (None clears one) and return the session.

        ``metadata`` replaces the whole object; None empties it.

        Raises:
            UserError: No session has this id.
        """
        values: dict[str, Any] = {}
        if not isinstance(model, _Unset):
            values["model"] = model
        if not isinstance(instructions, _Unset):
            values["instructions"] = instructions
        if not isinstance(metadata, _Unset):
            values["metadata"] = check_metadata(metadata)
        if values and self._queued(session_id):
            return self._spool_update(session_id, values, "earlier turns wait in the spool")
        try:
            return self._db.write_retrying(lambda conn: update_in(conn, session_id, values))
        except StoreBusyError as error:
            if not values or self._db.spool is None:
                raise
            return self._spool_update(session_id, values, error.cause)

    def append_messages(self, session_id: str, messages: Sequence[Mapping[str, Any]]) -> None:
        """Add messages after the session's last one, all or none, and bump ``updated_at``.

        Raises:
            UserError: No session has this id, or a message is not a JSON object.
        """
        rows = message_rows(messages)
        if rows and self._queued(session_id):
            # Earlier turns wait in the spool: this one queues behind them, in order.
            self._spool_messages(session_id, rows, "earlier turns wait in the spool")
            return
        try:
            self._db.write_retrying(lambda conn: append_in(conn, session_id, rows))
        except StoreBusyError as error:
            if not rows or self._db.spool is None:
                raise
            self._spool_messages(session_id, rows, error.cause)

    def load_messages(self, session_id: str) -> list[dict[str, Any]]:
        """Return the session's messages in order, each the dict that was stored.

        A content list is repaired on the way out: rows saved before parts were always
        objects may hold bare strings, which the gateway rejects (docs/wire-format.md
        §1.3). The stored rows are not rewritten.

        Raises:
            UserError: No session has this id.
        """
        with self._db.read() as conn:
            if conn.scalar(sa.select(_sessions.c.id).where(_sessions.c.id == session_id)) is None:
                raise unknown_session(session_id)
            query = (
                sa.select(_messages.c.message)
                .where(_messages.c.session_id == session_id)
                .order_by(_messages.c.position)
            )
            stored = list(conn.scalars(query))
        # Turns spooled while the store was locked belong to the history already.
        spooled = [] if self._db.spool is None else self._db.spool.messages_of(session_id)
        return [repair_message(message) for message in [*stored, *spooled]]

    def load_recent_messages(
        self, session_id: str, *, budget: int, measure: Measure
    ) -> list[dict[str, Any]]:
        """The newest whole turns whose ``measure`` sums to at most ``budget`` tokens.

        As :meth:`load_messages` (repaired, spooled turns included), but a long session
        is read newest first and only until the budget is spent (:mod:`.history`).

        Raises:
            UserError: No session has this id.
        """
        try:
            found = load_recent(self._db, session_id, budget=budget, measure=measure)
        except UnknownSessionError:
            raise unknown_session(session_id) from None
        return [repair_message(message) for message in found]

    def replace_messages(self, session_id: str, messages: Sequence[Mapping[str, Any]]) -> None:
        """Replace all of the session's messages (clear or trim history), all or nothing.

        Raises:
            UserError: No session has this id, or a message is not a JSON object.
        """
        rows = message_rows(messages)
        with self._db.write() as conn:
            lock_session(conn, session_id)
            conn.execute(sa.delete(_messages).where(_messages.c.session_id == session_id))
            insert_messages(conn, session_id, rows, start=0)

    # -- the turn lease: one server process runs a session's turn at a time --

    def take_lease(
        self, session_id: str, holder: str, seconds: float, *, steal_from: str | None = None
    ) -> str | None:
        """Lease the session to ``holder`` for ``seconds`` (or renew its lease).

        One conditional UPDATE, so two processes (server replicas on one database)
        racing for a session cannot both win, on SQLite and PostgreSQL alike: it
        succeeds when nobody holds the session, the lease ran out, ``holder`` holds it
        already, or ``steal_from`` (a holder known to be dead) does.

        Returns:
            Who holds the lease now (``holder`` when it was taken); None when no session
            has this id.
        """
        with self._db.write() as conn:
            return take_in(conn, session_id, holder, seconds, steal_from)

    def renew_leases(self, leases: Mapping[str, str], seconds: float) -> dict[str, str | None]:
        """Renew several leases (session id to holder) in one transaction.

        Returns:
            The sessions whose lease ``holder`` no longer has, with who holds it now.
        """
        lost: dict[str, str | None] = {}
        with self._db.write() as conn:
            for session_id, holder in leases.items():
                owner = take_in(conn, session_id, holder, seconds, None)
                if owner != holder:
                    lost[session_id] = owner
        return lost

    def release_lease(self, session_id: str, holder: str) -> None:
        """Give up ``holder``'s lease on the session (nothing happens if another holds it)."""
        with self._db.write() as conn:
            release_in(conn, session_id, holder)

    def open_turn(
        self,
        session_id: str,
        *,
        owner: str | None,
        holder: str,
        seconds: float,
        steal_from: str | None = None,
        fit: HistoryFit | None = None,
    ) -> TurnStart:
        """Lease ``owner``'s session to ``holder`` (as :meth:`take_lease`) and read it.

        One transaction: the lease, the session and its messages (repaired and with the
        spooled turns, as :meth:`load_messages` returns them), so a server turn starts
        with one store call. Past ``LONG_SESSION`` messages only the newest whole turns
        that ``fit`` says can fit are read (as :meth:`load_recent_messages` reads them).
        """
        with self._db.write() as conn:
            now_holder, record, stored = open_in(
                conn, session_id, owner, holder, seconds, steal_from, fit
            )
        if record is None:
            return TurnStart(now_holder, None, [])
        spooled = [] if self._db.spool is None else self._db.spool.messages_of(session_id)
        messages = [repair_message(message) for message in [*stored, *spooled]]
        return TurnStart(now_holder, record, messages)

    def close_turn(
        self, session_id: str, holder: str, messages: Sequence[Mapping[str, Any]]
    ) -> None:
        """Append a turn's messages (as :meth:`append_messages`) and give ``holder``'s lease up.

        One transaction, retried while the store is busy; a turn still locked out goes to
        the spool (as :meth:`append_messages` does) and its lease runs out on its own.

        Raises:
            UserError: No session has this id, or a message is not a JSON object.
        """
        rows = message_rows(messages)
        if rows and self._queued(session_id):
            self._spool_messages(session_id, rows, "earlier turns wait in the spool")
            try:
                self.release_lease(session_id, holder)
            except StoreBusyError:
                pass  # the turn is kept; the lease runs out on its own
            return
        try:
            self._db.write_retrying(lambda conn: close_in(conn, session_id, holder, rows))
        except StoreBusyError as error:
            if not rows or self._db.spool is None:
                raise
            self._spool_messages(session_id, rows, error.cause)

    # -- the spool: a session's turn kept while the store stays locked (see .spool) --

    def _queued(self, session_id: str) -> bool:
        spool = self._db.spool
        return spool is not None and spool.holds_session(session_id)

    def _existing(self, session_id: str) -> SessionRecord:
        # Reading works while another process holds SQLite's write lock (WAL).
        with self._db.read() as conn:
            record = select_record(conn, _sessions.c.id == session_id)
        if record is None:
            raise unknown_session(session_id)
        return record

    def _spool_messages(self, session_id: str, rows: list[dict[str, Any]], reason: str) -> None:
        self._existing(session_id)
        assert self._db.spool is not None
        data = {"session_id": session_id, "messages": rows}
        self._db.spool.append("messages", data, reason=reason)

    def _spool_update(self, session_id: str, values: dict[str, Any], reason: str) -> SessionRecord:
        record = self._existing(session_id)
        assert self._db.spool is not None
        data = {"session_id": session_id, "changes": values}
        self._db.spool.append("session_update", data, reason=reason)
        return replace(record, **values, updated_at=utc_now())

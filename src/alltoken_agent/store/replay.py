"""Moving spooled writes into the store, exactly once (see :mod:`.spool`).

A :class:`~alltoken_agent.store.Store` calls :func:`replay_spool` when it opens. All
entries go in one transaction together with their ids in ``spool_replayed``
(migration ``m007_spool_replayed``); the spool file is emptied only after that
commit. An id already in the table is skipped, so a file that could not be emptied
(a crash right after the commit) is harmless the next time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.errors import AllTokenAgentError, UserError
from alltoken_agent.store._errors import StoreBusyError
from alltoken_agent.store._session_rows import append_in, update_in
from alltoken_agent.store.engine import Database
from alltoken_agent.store.records import message_rows
from alltoken_agent.store.schema import ID_LENGTH, UTCDateTime, metadata
from alltoken_agent.store.spool import SpoolEntry
from alltoken_agent.store.usage import UsageRow, insert_row

logger = logging.getLogger("alltoken_agent")

spool_replayed = sa.Table(
    "spool_replayed",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("replayed_at", UTCDateTime(), nullable=False),
)
"""The ids of spool entries already stored (m007_spool_replayed)."""

_SESSION_FIELDS = frozenset({"model", "instructions", "metadata"})


def replay_spool(db: Database) -> int:
    """Store every entry waiting in ``db``'s spool, then empty it; return how many were new.

    Never raises for a store that is still locked or an entry that no longer fits
    (its session was deleted meanwhile): the first leaves the spool for the next
    open, the second is logged and dropped. Other database failures are logged and
    leave the spool as it was.
    """
    spool = db.spool
    if spool is None:
        return 0
    try:
        with spool.claim() as (entries, clear):
            if not entries:
                return 0
            stored = db.write_retrying(lambda conn: _store(conn, entries))
            clear()
    except AllTokenAgentError as error:
        why = "the store is still locked" if isinstance(error, StoreBusyError) else str(error)
        logger.warning(
            "%d spooled ledger rows or session turns still wait in %s (%s); they go into "
            "the store the next time it is opened",
            len(spool.entries()),
            spool.path,
            why,
        )
        return 0
    except OSError as error:
        logger.warning("could not replay the store's spool %s: %s", spool.path, error)
        return 0
    if stored:
        logger.info("replayed %d spooled writes from %s into the store", stored, spool.path)
    return stored


def _store(conn: Connection, entries: list[SpoolEntry]) -> int:
    done = set(
        conn.scalars(
            sa.select(spool_replayed.c.id).where(spool_replayed.c.id.in_([e.id for e in entries]))
        )
    )
    stored = 0
    now = datetime.now(timezone.utc)
    for entry in entries:
        if entry.id in done:
            continue  # stored by an earlier replay whose file was not emptied
        done.add(entry.id)
        try:
            _apply(conn, entry)
            stored += 1
        except (UserError, ValueError, KeyError, TypeError) as error:
            # Checked before any write of this entry, so the transaction holds none of it.
            logger.warning("dropped a spooled %s that no longer fits: %s", entry.kind, error)
        mark = {"id": entry.id, "kind": entry.kind, "replayed_at": now}
        conn.execute(sa.insert(spool_replayed).values(mark))
    return stored


def _apply(conn: Connection, entry: SpoolEntry) -> None:
    data = entry.data
    if entry.kind == "usage":
        insert_row(conn, UsageRow.from_dict(data))
        return
    session_id = data["session_id"]
    if not isinstance(session_id, str):
        raise ValueError("a spooled session turn names no session")
    if entry.kind == "messages":
        append_in(conn, session_id, message_rows(data["messages"]))
    else:
        changes = {k: v for k, v in dict(data["changes"]).items() if k in _SESSION_FIELDS}
        update_in(conn, session_id, changes)

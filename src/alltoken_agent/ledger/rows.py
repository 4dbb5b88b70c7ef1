"""A request's ledger row, and writing it with the standard library's ``sqlite3``.

:func:`row_fields` is the one place a :class:`~alltoken_agent.gateway.RequestRecord`
becomes the fields of a :class:`~alltoken_agent.store.usage.UsageRow`;
:meth:`~alltoken_agent.ledger.Ledger.to_row` builds its row from them.

:func:`write_quickly` stores rows in the default SQLite file without SQLAlchemy.
``chat`` records its request after the reply, and the store's import (SQLAlchemy,
its dialect, the migrations: about 150 ms of CPU) was most of what a short run
spent after its request. Two ways were weighed:

- an fsync'd journal folded in by the next store open (the store's spool already is
  one): rows would stay out of the table, so out of reports and other processes'
  budgets, until some process opens a store on the file again;
- a plain ``sqlite3`` insert of the very row the store would write: the row is in the
  table, durable at commit like the store's own writes, and every reader sees it.

This module does the second, only where it is the same write: the default SQLite file
already exists, is in WAL mode, is migrated to exactly the head migration this code
knows (:data:`HEAD_MIGRATION`) and has no spooled writes waiting. Anything else
(a first run, an older or newer schema, a spool to replay, a lock held past
:data:`QUICK_WAIT`, any error) answers False, and the caller takes the store's own
path, which migrates, replays, waits its full wait and spools. PostgreSQL and any
store a caller opened itself always take that path. A budget that must be checked
before a request opens the store then, so the check never waits on this.

The table's columns cannot be read here without importing SQLAlchemy, so they are
written out in :data:`USAGE_COLUMNS`; ``tests/ledger/test_quick_rows.py`` pins them,
the head migration, the file name and the stored values to the store's own.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timezone
from typing import TYPE_CHECKING, Any

from alltoken_agent.ledger.costs import record_cost
from alltoken_agent.paths import app_dirs

if TYPE_CHECKING:
    from pathlib import Path

    from alltoken_agent.catalog.prices import PriceLookup
    from alltoken_agent.gateway.records import RequestRecord

logger = logging.getLogger("alltoken_agent")

NAME_LENGTH = 255
"""``store.schema.NAME_LENGTH``: names and ids longer than this are clipped."""

DEFAULT_FILENAME = "alltoken-agent.db"
"""``store.engine.DEFAULT_FILENAME``: the default SQLite file in the data folder."""

HEAD_MIGRATION = "m012_server_secrets"
"""The newest migration in ``store.migrations.MIGRATIONS``; a file at another is left alone."""

USAGE_COLUMNS = (
    "created_at",
    "kind",
    "provider",
    "model",
    "session",
    "owner",
    "request_id",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cost",
    "cost_source",
    "currency",
    "latency_ms",
    "ttft_ms",
    "outcome",
    "status",
    "attempts",
    "extra",
    "simulated",
)
"""The ``usage`` table's columns but ``id``, in the table's order."""

QUICK_WAIT = 1.0
"""Seconds the quick write waits for another writer's lock before leaving the row to the
store, which waits its own full wait (``ALLTOKEN_AGENT_STORE_WAIT``) and then spools."""

_INSERT = (
    f"INSERT INTO usage ({', '.join(USAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in USAGE_COLUMNS)})"
)


def row_fields(record: RequestRecord, prices: PriceLookup | None) -> dict[str, Any]:
    """The fields of the ledger row ``record`` makes (a ``UsageRow`` without its id)."""
    cost, source = record_cost(record, prices)
    usage = record.usage
    started = record.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return {
        "created_at": started.astimezone(timezone.utc),
        "kind": record.kind,
        "provider": clip(record.provider) or "unknown",
        "model": clip(record.model),
        "session": clip(record.tags.get("session")),
        "owner": clip(record.tags.get("owner")),
        "request_id": clip(record.request_id),
        "stream": record.stream,
        "prompt_tokens": None if usage is None else usage.prompt_tokens,
        "completion_tokens": None if usage is None else usage.completion_tokens,
        "reasoning_tokens": None if usage is None else usage.reasoning_tokens,
        "cached_tokens": None if usage is None else usage.cached_tokens,
        "cost": cost,
        "cost_source": source,
        "latency_ms": millis(record.latency),
        "ttft_ms": millis(record.ttft),
        "outcome": clip(record.outcome) or "unknown",
        "status": record.status,
        "attempts": record.attempts,
        "extra": json_object(record.extra),
        "simulated": record.simulated,
    }


def clip(value: str | None) -> str | None:
    """``value`` as text, at most :data:`NAME_LENGTH` characters."""
    return None if value is None else str(value)[:NAME_LENGTH]


def millis(seconds: float | None) -> int | None:
    """Whole milliseconds, never negative."""
    return None if seconds is None else max(0, round(seconds * 1000))


def json_object(extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` as plain JSON: anything JSON cannot hold becomes its text."""
    try:
        loaded = json.loads(json.dumps(dict(extra), default=str, allow_nan=False))
    except (TypeError, ValueError):
        return {"unserialisable": repr(dict(extra))[:1000]}
    return loaded if isinstance(loaded, dict) else {}


def default_database() -> Path:
    """The default store's SQLite file (``ALLTOKEN_AGENT_HOME`` moves it)."""
    return app_dirs().data / DEFAULT_FILENAME


def can_write_quickly(path: Path | None = None) -> bool:
    """Whether :func:`write_quickly` may succeed: the file exists and no spool waits.

    A cheap look (two ``stat`` calls) for deciding whether to import the store early;
    the write itself checks the schema.
    """
    path = default_database() if path is None else path
    try:
        if not path.is_file():
            return False
        return path.with_name(path.name + ".spool").stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write_quickly(
    rows: Sequence[Mapping[str, Any]], path: Path | None = None, *, wait: float = QUICK_WAIT
) -> bool:
    """Insert ``rows`` (from :func:`row_fields`) into the default SQLite store in one commit.

    Args:
        rows: The rows, in order.
        path: The SQLite file; None is the default store's.
        wait: Seconds to wait for another writer's lock.

    Returns:
        True when every row was committed; False when none was and the store's own
        path must write them (see the module docstring for when).
    """
    path = default_database() if path is None else path
    if not rows or not can_write_quickly(path):
        return False
    import sqlite3  # here: a few ms that chat spends after its request, not before

    try:
        values = [_stored(row) for row in rows]
        conn = sqlite3.connect(path, timeout=wait, isolation_level=None)
    except (sqlite3.Error, ValueError, TypeError) as error:
        return _declined(str(error))
    try:
        # The pragmas the store sets on each connection (store/engine.py).
        conn.execute("PRAGMA foreign_keys=ON")
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() != "wal":
            return _declined(f"the journal mode is {mode}")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")  # the write lock up front, as the store's writes
        (head,) = conn.execute("SELECT max(name) FROM schema_migrations").fetchone()
        if head != HEAD_MIGRATION:
            conn.execute("ROLLBACK")
            return _declined(f"the store is at migration {head}")
        conn.executemany(_INSERT, values)
        conn.execute("COMMIT")
        return True
    except sqlite3.Error as error:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        return _declined(str(error))
    finally:
        conn.close()


def _declined(why: str) -> bool:
    logger.debug("the ledger rows go through the store: %s", why)
    return False


def _stored(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values SQLAlchemy binds for ``row`` on SQLite, in :data:`USAGE_COLUMNS` order."""
    created = row["created_at"].astimezone(timezone.utc).replace(tzinfo=None)
    cost = row["cost"]
    if cost is not None and not cost.is_finite():
        raise ValueError(f"a cost must be a finite Decimal, not {cost!r}")
    stored = {
        **row,
        "currency": row.get("currency", "USD"),
        # store.schema.UTCDateTime on SQLite: naive UTC in SQLite's DATETIME text.
        "created_at": created.isoformat(" ", "microseconds"),
        "cost": None if cost is None else format(cost, "f"),  # store.usage.DecimalText
        "stream": int(bool(row["stream"])),
        "simulated": int(bool(row["simulated"])),
        # The store's JSON serializer (store/engine.py).
        "extra": json.dumps(dict(row["extra"]), ensure_ascii=False, allow_nan=False),
    }
    return tuple(stored[name] for name in USAGE_COLUMNS)

"""The tables as they stand after the last migration, for building queries.

This module never creates anything: the DDL lives in :mod:`.migrations`, one frozen
function per change. When a migration changes a table, mirror the new shape here;
``tests/store/test_migrations.py`` checks that the two agree column for column.

Portable Core only: JSON through :class:`sqlalchemy.JSON`, times through
:class:`UTCDateTime` (``DateTime(timezone=True)``), no dialect-specific SQL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

ID_LENGTH = 64
"""Room for text ids such as ``ses_`` + 16 hex digits, with space for other prefixes."""

NAME_LENGTH = 255
"""Longest session name or owner id; the columns are ``VARCHAR(255)`` where that matters."""


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps the offset (``timestamp with time zone``); SQLite has no such
    type and stores naive text, so values are converted to UTC before they are
    stored and marked as UTC when they are read back. Naive datetimes are refused:
    their zone would be a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Convert an aware datetime to UTC (naive UTC text for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a naive datetime cannot be stored: {value!r}; give it a timezone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return the stored time as an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = sa.MetaData()
"""The current tables; only for queries (``metadata.create_all`` is never called)."""

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    # The bookkeeping table is created outside the migration list, so its shape is
    # frozen: never change it.
    sa.Column("name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
)
"""One row per applied migration."""

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(NAME_LENGTH)),
    sa.Column("owner", sa.String(NAME_LENGTH)),
    sa.Column("model", sa.Text()),
    sa.Column("instructions", sa.Text()),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(NAME_LENGTH)),
    sa.Column("lease_until", UTCDateTime()),
)
"""Conversations (m001_sessions); names are unique per owner, NULL owner = local use. The
lease (m008_session_lease) says which server process runs a turn of one, until when."""

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column(
        "session_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("message", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
"""Chat messages (m002_messages), each an OpenAI message dict, ordered by position."""

media_jobs = sa.Table(
    "media_jobs",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("provider", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("dialect", sa.String(16), nullable=False),
    sa.Column("base_url", sa.Text()),
    sa.Column("model", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("owner", sa.String(NAME_LENGTH)),
    sa.Column("task_id", sa.String(NAME_LENGTH)),
    sa.Column("idempotency_key", sa.String(ID_LENGTH)),
    sa.Column("params", sa.JSON(), nullable=False),
    sa.Column("request", sa.JSON()),
    sa.Column("output_path", sa.Text(), nullable=False),
    sa.Column("files", sa.JSON(), nullable=False),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.Column("remote_status", sa.String(32)),
    sa.Column("error_code", sa.String(NAME_LENGTH)),
    sa.Column("error", sa.Text()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("submitted_at", UTCDateTime()),
    sa.Column("completed_at", UTCDateTime()),
    sa.Column("lease_owner", sa.String(NAME_LENGTH)),
    sa.Column("lease_until", UTCDateTime()),
)
"""Image and video jobs (m003_media_jobs), each journaled before its first request; the
lease (m006_media_job_lease) says which process is finishing one, until when."""

batch_runs = sa.Table(
    "batch_runs",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("input_sha256", sa.String(64), nullable=False),
    sa.Column("input_name", sa.Text(), nullable=False),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("lines", sa.Integer(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
"""Batch runs (m009_batches), keyed by the input file's hash and the default settings."""

batch_items = sa.Table(
    "batch_items",
    metadata,
    sa.Column(
        "run_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("batch_runs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("line", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("request", sa.JSON()),
    sa.Column("output", sa.JSON()),
    sa.Column("cost", sa.String(64)),
    sa.Column("lease_owner", sa.String(NAME_LENGTH)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)
"""One row per input line of a batch run (m009_batches), leased to one runner at a time."""

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(NAME_LENGTH), primary_key=True),
    sa.Column("value", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
"""Random keys shared by the replicas of one store, by purpose (m012_server_secrets)."""

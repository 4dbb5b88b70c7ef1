"""Append-only, named schema migrations, recorded in ``schema_migrations``.

The pattern of simonw/llm's ``llm/migrations.py``: every change to the schema is one
function, registered in order with :func:`migration` and recorded by name once it has
run. :func:`migrate` applies each pending one in its own transaction, so a failure
leaves neither half a change nor a record of it.

To change the schema (the ledger's ``usage`` table, the media ``media_jobs`` table,
a new column):

1. append a new function at the end of this file, named ``mNNN_what_it_does`` with
   the next number, taking the open :class:`~sqlalchemy.engine.Connection`;
2. define the tables it touches inline, with their own ``MetaData``, as they are
   at that point in history (never import them from :mod:`.schema`, which moves on);
3. mirror the resulting shape in :mod:`.schema` for queries.

Never edit, rename, reorder or delete a migration that has shipped: databases out
there have recorded it by name and will not run it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from alltoken_agent.store.engine import Database
from alltoken_agent.store.schema import schema_migrations

MigrationFunction: TypeAlias = Callable[[Connection], None]
Migration: TypeAlias = tuple[str, MigrationFunction]

MIGRATIONS: list[Migration] = []
"""Every migration, in the order it must run: ``(name, function(connection))``."""

_PARTIAL_INDEX_DIALECTS = frozenset({"sqlite", "postgresql"})
"""Dialects that support ``CREATE UNIQUE INDEX ... WHERE``; elsewhere the code checks alone."""


def migration(function: MigrationFunction) -> MigrationFunction:
    """Register ``function`` as the next migration, under its own name."""
    name = function.__name__
    if any(known == name for known, _ in MIGRATIONS):
        raise RuntimeError(f"migration {name} is defined twice")
    MIGRATIONS.append((name, function))
    return function


def applied_migrations(db: Database) -> list[str]:
    """Return the names of the migrations recorded in ``db``, oldest first."""
    with db.begin(write=False) as conn:
        if not sa.inspect(conn).has_table(schema_migrations.name):
            return []
        query = sa.select(schema_migrations.c.name).order_by(
            schema_migrations.c.applied_at, schema_migrations.c.name
        )
        return list(conn.scalars(query))


def migrate(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet recorded in ``db``, each in its own transaction.

    Idempotent, and safe when several processes open a fresh database at once: on
    SQLite the write lock makes them take turns; on PostgreSQL the loser of a race
    fails, rolls back, finds the migration recorded by the winner and moves on.

    Args:
        db: The database to bring up to date.
        migrations: The ordered list to apply; tests pass their own.

    Returns:
        The names applied by this call, in order (empty when already up to date).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: A migration failed; callers translate it.
    """
    done = set(applied_migrations(db))
    pending = [(name, function) for name, function in migrations if name not in done]
    if not pending:
        return []
    _create_bookkeeping_table(db)
    return [name for name, function in pending if _apply(db, name, function)]


def _create_bookkeeping_table(db: Database) -> None:
    try:
        with db.begin(write=True) as conn:
            schema_migrations.create(conn, checkfirst=True)
    except sa_exc.DBAPIError:
        # Another process created it between our check and our CREATE TABLE.
        with db.begin(write=False) as conn:
            if not sa.inspect(conn).has_table(schema_migrations.name):
                raise


def _apply(db: Database, name: str, function: MigrationFunction) -> bool:
    """Run one migration and record it in the same transaction; False if already there."""
    try:
        with db.begin(write=True) as conn:
            if _is_recorded(conn, name):
                return False
            function(conn)
            applied_at = datetime.now(timezone.utc)
            conn.execute(sa.insert(schema_migrations).values(name=name, applied_at=applied_at))
            return True
    except sa_exc.DBAPIError:
        # The race: another process ran the same migration and committed first, so our
        # CREATE or our record clashed with its. Anything else is a real failure.
        if name in applied_migrations(db):
            return False
        raise


def _is_recorded(conn: Connection, name: str) -> bool:
    query = sa.select(schema_migrations.c.name).where(schema_migrations.c.name == name)
    return conn.scalar(query) is not None


# -- The migrations, oldest first. Append only. ------------------------------------------


@migration
def m001_sessions(conn: Connection) -> None:
    """Create ``sessions``: one conversation per row, optionally named, per owner."""
    table = sa.Table(
        "sessions",
        sa.MetaData(),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("owner", sa.String(255)),
        sa.Column("model", sa.Text()),
        sa.Column("instructions", sa.Text()),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        # SQL treats NULLs as distinct, so this only keeps names unique among sessions
        # that have an owner; the partial index below covers the local ones (owner
        # NULL), and the repository checks both inside its write transaction.
        sa.UniqueConstraint("owner", "name", name="uq_sessions_owner_name"),
        sa.Index("ix_sessions_owner_updated_at", "owner", "updated_at"),
    )
    table.create(conn)
    if conn.dialect.name in _PARTIAL_INDEX_DIALECTS:
        local = table.c.owner.is_(None)
        sa.Index(
            "uq_sessions_local_name",
            table.c.name,
            unique=True,
            sqlite_where=local,
            postgresql_where=local,
        ).create(conn)


@migration
def m002_messages(conn: Connection) -> None:
    """Create ``messages``: each session's chat messages as JSON, in position order."""
    meta = sa.MetaData()
    # The foreign key's target, declared so the key resolves; it is not created here.
    sa.Table("sessions", meta, sa.Column("id", sa.String(64), primary_key=True))
    table = sa.Table(
        "messages",
        meta,
        # BIGINT on servers; INTEGER on SQLite, where only that makes it the rowid.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ux_messages_session_position", "session_id", "position", unique=True),
    )
    table.create(conn)


# Next: m003_usage (ledger/), then m004_media_jobs (media/). Append them here.

"""Applying the pending migrations, each in its own transaction, and recording them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from alltoken_agent.store.engine import Database
from alltoken_agent.store.migrations.registry import MIGRATIONS, Migration, MigrationFunction
from alltoken_agent.store.schema import schema_migrations


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

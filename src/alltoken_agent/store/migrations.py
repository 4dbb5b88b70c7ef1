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
    """Register ``function`` as a migration, under its own name, in ``mNNN`` order."""
    name = function.__name__
    if any(known == name for known, _ in MIGRATIONS):
        raise RuntimeError(f"migration {name} is defined twice")
    MIGRATIONS.append((name, function))
    # Numbers are handed out ahead of time, so a lower number (m003) may be merged
    # below a higher one (m004) in this file: the name, not the position, sets the order.
    MIGRATIONS.sort(key=lambda entry: entry[0])
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


@migration
def m003_media_jobs(conn: Connection) -> None:
    """Create ``media_jobs``: the journal of image and video jobs, one row per job.

    A row is written before the job's first request (status ``submitting``, with its
    idempotency key and output path) and updated as the job moves, so a crash never
    loses a paid result. A database that applied m004_usage before this migration
    existed applies it on its next open: migrate() runs every unrecorded name.
    """
    moment = sa.DateTime(timezone=True)
    table = sa.Table(
        "media_jobs",
        sa.MetaData(),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("dialect", sa.String(16), nullable=False),
        sa.Column("base_url", sa.Text()),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("task_id", sa.String(255)),
        sa.Column("idempotency_key", sa.String(64)),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON()),
        sa.Column("output_path", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("remote_status", sa.String(32)),
        sa.Column("error_code", sa.String(255)),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("submitted_at", moment),
        sa.Column("completed_at", moment),
        # Unfinished jobs (`jobs resume`), lookups by the gateway's task id, and the
        # completion times of a model's earlier jobs (the first poll's delay).
        sa.Index("ix_media_jobs_status_created_at", "status", "created_at"),
        sa.Index("ix_media_jobs_task_id", "task_id"),
        sa.Index("ix_media_jobs_model_completed_at", "model", "completed_at"),
        sa.Index("ix_media_jobs_owner_created_at", "owner", "created_at"),
    )
    table.create(conn)


@migration
def m004_usage(conn: Connection) -> None:
    """Create ``usage``: one row per gateway request, with its tokens, cost and outcome.

    ``cost`` is exact decimal text (the cost comment has 10 fractional digits; a float
    would lose them); NULL means unknown, never zero.
    """
    table = sa.Table(
        "usage",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(255), nullable=False),
        sa.Column("model", sa.String(255)),
        sa.Column("session", sa.String(255)),
        sa.Column("owner", sa.String(255)),
        sa.Column("request_id", sa.String(255)),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer()),
        sa.Column("completion_tokens", sa.Integer()),
        sa.Column("reasoning_tokens", sa.Integer()),
        sa.Column("cached_tokens", sa.Integer()),
        sa.Column("cost", sa.String(64)),
        sa.Column("cost_source", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("latency_ms", sa.Integer()),
        sa.Column("ttft_ms", sa.Integer()),
        sa.Column("outcome", sa.String(255), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        # Every query filters by owner and a time range; the others add session or model.
        sa.Index("ix_usage_owner_created_at", "owner", "created_at"),
        sa.Index("ix_usage_session_created_at", "session", "created_at"),
        sa.Index("ix_usage_model_created_at", "model", "created_at"),
        sa.Index("ix_usage_created_at", "created_at"),
    )
    table.create(conn)


@migration
def m005_usage_simulated(conn: Connection) -> None:
    """Add ``usage.simulated``: the request went to the offline simulator, not to a gateway.

    Offline runs share the store with real ones, and their made-up costs must not
    count toward a real budget or a spend report. Rows already there were real.
    """
    table = conn.dialect.identifier_preparer.quote("usage")
    conn.execute(
        sa.text(f"ALTER TABLE {table} ADD COLUMN simulated BOOLEAN NOT NULL DEFAULT FALSE")
    )


@migration
def m006_media_job_lease(conn: Connection) -> None:
    """Add ``media_jobs.lease_owner`` and ``lease_until``: who is finishing a job, until when.

    Two processes (a ``jobs resume`` while the first is still polling, or two server
    replicas) must not both claim an image the gateway delivers once: a process takes
    the lease with a conditional UPDATE and renews it while it works. NULL: nobody.
    """
    moment = sa.DateTime(timezone=True)
    table = sa.Table(
        "media_jobs",
        sa.MetaData(),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_until", moment),
    )
    for column in table.columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE media_jobs ADD COLUMN {column.name} {kind}"))


@migration
def m007_spool_replayed(conn: Connection) -> None:
    """Create ``spool_replayed``: the ids of spooled writes already moved into the store.

    Ledger rows and session turns written while the database stayed locked wait in
    a spool file (``store/spool.py``); the replay records each id here in the same
    transaction as its row, so an entry replayed twice is stored once.
    """
    table = sa.Table(
        "spool_replayed",
        sa.MetaData(),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
    )
    table.create(conn)


@migration
def m008_session_lease(conn: Connection) -> None:
    """Add ``sessions.lease_owner`` and ``lease_until``: which server runs a session's turn.

    Server replicas on one database must not run two turns of one session at once: a
    replica takes the lease with a conditional UPDATE before a turn and renews it while
    the turn runs (as ``m006_media_job_lease`` does for media jobs). NULL: nobody.
    """
    moment = sa.DateTime(timezone=True)
    table = sa.Table(
        "sessions",
        sa.MetaData(),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_until", moment),
    )
    for column in table.columns:
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE sessions ADD COLUMN {column.name} {kind}"))


@migration
def m009_batches(conn: Connection) -> None:
    """Create ``batch_runs`` and ``batch_items``: the journal of ``alltoken-agent batch``.

    A run is keyed by its input file's hash and its default settings; each input line is
    a row, taken by one runner at a time under a lease, with its output once done, so a
    run killed mid-way resumes without sending a finished line again. ``cost`` is exact
    decimal text, NULL when unknown.
    """
    meta = sa.MetaData()
    moment = sa.DateTime(timezone=True)
    sa.Table(
        "batch_runs",
        meta,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("input_name", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("created_at", moment, nullable=False),
    ).create(conn)
    sa.Table(
        "batch_items",
        meta,
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("batch_runs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("line", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON()),
        sa.Column("output", sa.JSON()),
        sa.Column("cost", sa.String(64)),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_until", moment),
        sa.Column("updated_at", moment, nullable=False),
        # Workers look for the next queued (or expired) line.
        sa.Index("ix_batch_items_status_run_line", "status", "run_id", "line"),
    ).create(conn)


@migration
def m010_messages_fts(conn: Connection) -> None:
    """Create ``messages_fts``: every prompt and reply, searchable with SQLite FTS5.

    A full-text table keyed by ``messages.id``, kept in step with ``messages`` by
    triggers (insert, update, delete, and the cascade when a session is deleted), so
    ``alltoken-agent logs -q`` never reads the whole history. Messages already stored
    are indexed here. Only SQLite: PostgreSQL searches the messages with ``ILIKE``
    (:mod:`.search`), and a SQLite built without FTS5 falls back to ``LIKE`` too.
    """
    if conn.dialect.name != "sqlite":
        return
    if not conn.exec_driver_sql("SELECT sqlite_compileoption_used('ENABLE_FTS5')").scalar():
        return
    # Only user and assistant text: a content list keeps its text parts, joined.
    text = (
        "CASE WHEN json_type({m}, '$.content') = 'array' THEN"
        # A part may be a bare string (rows stored before content parts were objects):
        # json_extract on it fails, so only object parts are read, strings as they are.
        " (SELECT group_concat(CASE type WHEN 'object' THEN json_extract(value, '$.text')"
        " WHEN 'text' THEN value END, ' ')"
        " FROM json_each({m}, '$.content'))"
        " ELSE json_extract({m}, '$.content') END"
    )
    # CASE, not AND, so a row that is not valid JSON is skipped rather than failing the write.
    wanted = (
        "CASE WHEN json_valid({m}) THEN json_extract({m}, '$.role') END IN ('user', 'assistant')"
    )
    new_text, new_wanted = text.format(m="new.message"), wanted.format(m="new.message")
    conn.exec_driver_sql("CREATE VIRTUAL TABLE messages_fts USING fts5(text)")
    conn.exec_driver_sql(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
        f" WHEN {new_wanted} BEGIN"
        f" INSERT INTO messages_fts(rowid, text) VALUES (new.id, {new_text}); END"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
        " DELETE FROM messages_fts WHERE rowid = old.id; END"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF message ON messages BEGIN"
        " DELETE FROM messages_fts WHERE rowid = old.id;"
        f" INSERT INTO messages_fts(rowid, text) SELECT new.id, {new_text}"
        f" WHERE {new_wanted}; END"
    )
    conn.exec_driver_sql(
        "INSERT INTO messages_fts(rowid, text) SELECT id, {t} FROM messages WHERE {w}".format(
            t=text.format(m="message"), w=wanted.format(m="message")
        )
    )

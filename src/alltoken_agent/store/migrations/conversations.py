"""Migrations of the conversation tables: ``sessions``, ``messages``, their lease and search.

Append only: never edit, rename or delete a migration that has shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.migrations.registry import migration

_PARTIAL_INDEX_DIALECTS = frozenset({"sqlite", "postgresql"})
"""Dialects that support ``CREATE UNIQUE INDEX ... WHERE``; elsewhere the code checks alone."""


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

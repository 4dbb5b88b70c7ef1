"""Migrations of the write journals: the spool's replay record and the batch runs.

Append only: never edit, rename or delete a migration that has shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.migrations.registry import migration


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

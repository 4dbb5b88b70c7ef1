"""Migrations of the ledger's ``usage`` table.

Append only: never edit, rename or delete a migration that has shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.migrations.registry import migration


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

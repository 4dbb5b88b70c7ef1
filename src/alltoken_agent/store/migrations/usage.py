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


@migration
def m011_usage_day_sums(conn: Connection) -> None:
    """Add the SQLite cache of per-day usage sums, and the triggers that keep it true.

    ``usage_day_sums`` holds, for whole UTC days that are over, one row per book, owner,
    session, model and shape of the cost text (its length and where its dot is), with
    the same counts and exact integer sums a report computes (see
    ``store/usage_days.py``); ``usage_days_summed`` lists the days it holds. A report
    fills both on first use. Any insert, update or delete of a ``usage`` row forgets its
    day (old and new), so a late row (a spool replay, a renamed session) is summed again
    from the rows themselves, never missed. PostgreSQL sums fast enough: nothing there.
    """
    if conn.dialect.name != "sqlite":
        return
    conn.execute(
        sa.text(
            "CREATE TABLE usage_day_sums ("
            "day TEXT NOT NULL, simulated BOOLEAN NOT NULL, owner TEXT, session TEXT, "
            "model TEXT, cost_length INTEGER, cost_dot INTEGER, requests INTEGER NOT NULL, "
            "prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, "
            "unknown_usage INTEGER NOT NULL, costs INTEGER NOT NULL, cost_digits INTEGER, "
            "odd_costs INTEGER NOT NULL)"
        )
    )
    conn.execute(sa.text("CREATE INDEX ix_usage_day_sums_day ON usage_day_sums (day)"))
    conn.execute(sa.text("CREATE TABLE usage_days_summed (day TEXT PRIMARY KEY)"))
    forget = (
        "DELETE FROM usage_days_summed WHERE day = substr({row}.created_at, 1, 10); "
        "DELETE FROM usage_day_sums WHERE day = substr({row}.created_at, 1, 10);"
    )
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        body = " ".join(forget.format(row=row) for row in rows)
        conn.execute(
            sa.text(
                f"CREATE TRIGGER usage_day_sums_{event.lower()} AFTER {event} ON usage "
                f"BEGIN {body} END"
            )
        )

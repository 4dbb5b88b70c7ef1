"""Migrations of what the server replicas sharing a store keep in common.

Append only: never edit, rename or delete a migration that has shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.migrations.registry import migration


@migration
def m012_server_secrets(conn: Connection) -> None:
    """Create ``server_secrets``: random keys every replica sharing the store signs with.

    One row per purpose (``name``, e.g. ``file_links``); ``value`` is the key as hex text
    (portable across backends), made once by whichever process needs it first
    (``store/server_secrets.py``: a conflicting insert reads the winner's row instead).
    """
    sa.Table(
        "server_secrets",
        sa.MetaData(),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ).create(conn)

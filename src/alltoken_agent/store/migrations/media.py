"""Migrations of the media journal: ``media_jobs`` and its lease.

Append only: never edit, rename or delete a migration that has shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store.migrations.registry import migration


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

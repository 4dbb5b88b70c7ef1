"""Media jobs a ``worker`` may take: jobs a server journaled that no live process is finishing.

``POST /v1/images`` and ``/v1/videos`` journal a job and the server drives it, holding
its lease (``media_jobs.lease_owner``). When no server does (it stopped, died, or hung
past its lease), the job is up for a worker, by the rule the servers' own sweep follows:

* it is unfinished, and its submit is not in doubt (never sent, or accepted with a task
  id: one whose answer was lost stays for a person, as in ``jobs resume``);
* nobody holds a live lease on it (none, one that ran out, or one of a dead process on
  this host); a job nobody leased yet is left ``grace`` seconds to whoever journaled it;
* its files go under the folder the worker serves (the server's media folder), so a
  job of the CLI, whose person was told how to resume it, is never taken.

The pick runs ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (a conditional UPDATE of the lease
on SQLite as well), so two workers never take the same job.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa

from alltoken_agent.store.batches import holder_is_dead
from alltoken_agent.store.engine import Database
from alltoken_agent.store.media import (
    SUBMIT_SENT,
    UNFINISHED,
    MediaJobRecord,
    MediaJobRepository,
)
from alltoken_agent.store.schema import media_jobs as _jobs

if TYPE_CHECKING:
    from alltoken_agent.store.store import Store

PICK = 50
"""Rows looked at (and locked for the moment of the pick) per claim."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def up_for_a_worker(record: MediaJobRecord, now: datetime, grace: float) -> bool:
    """Whether no live process is finishing ``record`` and a worker may (the module doc)."""
    if record.finished:
        return False
    if record.status == "submitting" and record.task_id is None and SUBMIT_SENT in record.result:
        return False  # its submit is in doubt: never resent on our own
    live = record.lease_until is not None and record.lease_until > now
    if record.lease_owner is not None:
        return not live or holder_is_dead(record.lease_owner)
    return record.updated_at <= now - timedelta(seconds=grace)


class MediaJobQueue:
    """Takes journaled media jobs for workers (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def of(cls, store: Store) -> MediaJobQueue:
        """The media job queue of an open :class:`~alltoken_agent.store.Store`."""
        # Same package: the store hands its Database to its own repositories.
        return cls(store._db)

    def claim(
        self,
        holder: str,
        seconds: float,
        *,
        folder: str,
        grace: float,
        skip: Collection[str] = (),
    ) -> MediaJobRecord | None:
        """Lease the oldest job up for a worker under ``folder`` to ``holder``; None if none.

        ``skip`` names jobs this worker already found it cannot run (another dialect).
        """
        c = _jobs.c
        under = c.output_path.startswith(folder, autoescape=True)
        query = (
            sa.select(_jobs)
            .where(c.status.in_(UNFINISHED) & under)
            .order_by(c.created_at, c.id)
            .limit(PICK)
        )
        with self._db.write() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            now = _now()
            for row in conn.execute(query).all():
                record = MediaJobRecord.from_row(row._mapping)
                if record.id in skip or not up_for_a_worker(record, now, grace):
                    continue
                same_owner = (
                    c.lease_owner.is_(None)
                    if record.lease_owner is None
                    else c.lease_owner == record.lease_owner
                )
                taken = conn.execute(
                    sa.update(_jobs)
                    .where((c.id == record.id) & c.status.in_(UNFINISHED) & same_owner)
                    .values(lease_owner=holder, lease_until=now + timedelta(seconds=seconds))
                ).rowcount
                if taken == 1:
                    fresh = conn.execute(sa.select(_jobs).where(c.id == record.id)).first()
                    assert fresh is not None
                    return MediaJobRecord.from_row(fresh._mapping)
        return None

    def release(self, job_id: str, holder: str) -> None:
        """Give up ``holder``'s lease on the job (nothing happens if another holds it)."""
        MediaJobRepository(self._db).release_lease(job_id, holder)

"""Media jobs a ``worker`` may take: jobs queued for workers, and jobs a server left.

``POST /v1/images`` and ``/v1/videos`` journal a job. A server that runs its jobs itself
(``[server] media_jobs = "server"``) drives it, holding its lease
(``media_jobs.lease_owner``); one that hands them to workers (``"workers"``) journals it
``queued`` (:meth:`MediaJobQueue.enqueue`) and leases nothing. A job is up for a worker,
by the rule the servers' own sweep follows, when:

* it is ``queued`` and nobody holds a live lease on it: taken at once, and moved to
  ``submitting`` by the same UPDATE that leases it; or
* it is unfinished, and its submit is not in doubt (never sent, or accepted with a task
  id: one whose answer was lost stays for a person, as in ``jobs resume``), and nobody
  holds a live lease on it (none, one that ran out, or one of a dead process on this
  host); a job nobody leased yet is left ``grace`` seconds to whoever journaled it;
* and its files go under the folder the worker serves (the server's media folder), so a
  job of the CLI, whose person was told how to resume it, is never taken.

The pick runs ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (a conditional UPDATE of the lease
on SQLite as well), so two workers never take the same job. A queued job is cancelled by
one conditional UPDATE too (:meth:`MediaJobQueue.cancel`): a worker's claim and a cancel
cannot both win, so a job cancelled while queued is never sent nor paid for.
"""

from __future__ import annotations

import socket
from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa

from alltoken_agent.errors import UserError
from alltoken_agent.store.batches import holder_is_dead
from alltoken_agent.store.engine import Database
from alltoken_agent.store.media import (
    SUBMIT_SENT,
    UNFINISHED,
    MediaJobRecord,
    MediaJobRepository,
)
from alltoken_agent.store.records import check_owner
from alltoken_agent.store.schema import media_jobs as _jobs

if TYPE_CHECKING:
    from alltoken_agent.store.store import Store

PICK = 50
"""Rows looked at (and locked for the moment of the pick) per claim."""
CANCELLED_WHILE_QUEUED = "cancelled while queued: no worker had taken it, so nothing was sent"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def up_for_a_worker(record: MediaJobRecord, now: datetime, grace: float) -> bool:
    """Whether no live process is finishing ``record`` and a worker may (the module doc)."""
    if record.finished:
        return False
    if record.task_id is None and SUBMIT_SENT in record.result:
        return False  # its submit is in doubt: never resent on our own
    live = record.lease_until is not None and record.lease_until > now
    if record.status == "queued":  # handed to workers: no grace to wait
        return record.lease_owner is None or not live or holder_is_dead(record.lease_owner)
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
        now = _now()
        under = c.output_path.startswith(folder, autoescape=True)
        # A live lease elsewhere is left out here, so a claim does not lock (and hold up
        # the heartbeat of) rows another process is finishing; a lease of a process of
        # this host may be a dead one's, which ``up_for_a_worker`` tells.
        free = (
            c.lease_owner.is_(None)
            | c.lease_until.is_(None)
            | (c.lease_until <= now)
            | c.lease_owner.startswith(f"{socket.gethostname()}/", autoescape=True)
        )
        condition = c.status.in_(UNFINISHED) & under & free
        if skip:
            condition = condition & c.id.not_in(list(skip))
        query = sa.select(_jobs).where(condition).order_by(c.created_at, c.id).limit(PICK)
        with self._db.write() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for row in conn.execute(query).all():
                record = MediaJobRecord.from_row(row._mapping)
                if not up_for_a_worker(record, now, grace):
                    continue
                same_owner = (
                    c.lease_owner.is_(None)
                    if record.lease_owner is None
                    else c.lease_owner == record.lease_owner
                )
                values: dict[str, object] = {
                    "lease_owner": holder,
                    "lease_until": now + timedelta(seconds=seconds),
                }
                if record.status == "queued":  # taken by a worker: no longer waiting
                    values.update(status="submitting", updated_at=now)
                taken = conn.execute(
                    sa.update(_jobs)
                    .where((c.id == record.id) & (c.status == record.status) & same_owner)
                    .values(**values)
                ).rowcount
                if taken == 1:
                    fresh = conn.execute(sa.select(_jobs).where(c.id == record.id)).first()
                    assert fresh is not None
                    return MediaJobRecord.from_row(fresh._mapping)
        return None

    def enqueue(self, job_id: str) -> MediaJobRecord:
        """Hand a job just journaled (never sent, nobody holding it) to the workers.

        Raises:
            UserError: No such job, or it is not a fresh unsent one (nothing changed).
        """
        c = _jobs.c
        fresh = (
            (c.id == job_id)
            & (c.status == "submitting")
            & c.task_id.is_(None)
            & c.lease_owner.is_(None)
        )
        with self._db.write() as conn:
            changed = conn.execute(
                sa.update(_jobs).where(fresh).values(status="queued", updated_at=_now())
            ).rowcount
            row = conn.execute(sa.select(_jobs).where(c.id == job_id)).first()
        if not changed or row is None:
            raise UserError(f"media job {job_id} is not a fresh unsent job; it was not queued")
        return MediaJobRecord.from_row(row._mapping)

    def cancel(self, job_id: str, *, owner: str | None) -> MediaJobRecord | None:
        """Cancel ``owner``'s job if it is still queued with no live lease; the job, or None.

        One conditional UPDATE, as a worker's claim is: whichever comes first wins, so a
        job cancelled here is never sent (None: a worker took it, or it is not queued).
        """
        check_owner(owner)
        c = _jobs.c
        now = _now()
        of_owner = c.owner.is_(None) if owner is None else c.owner == owner
        free = c.lease_owner.is_(None) | c.lease_until.is_(None) | (c.lease_until <= now)
        with self._db.write() as conn:
            changed = conn.execute(
                sa.update(_jobs)
                .where((c.id == job_id) & of_owner & (c.status == "queued") & free)
                .values(
                    status="cancelled",
                    error_code="cancelled",
                    error=CANCELLED_WHILE_QUEUED,
                    completed_at=now,
                    updated_at=now,
                )
            ).rowcount
            row = conn.execute(sa.select(_jobs).where(c.id == job_id)).first()
        return MediaJobRecord.from_row(row._mapping) if changed and row is not None else None

    def waiting(self, *, owner: str | None) -> int:
        """How many of ``owner``'s jobs wait in the queue (no worker has taken them yet)."""
        c = _jobs.c
        of_owner = c.owner.is_(None) if owner is None else c.owner == owner
        query = (
            sa.select(sa.func.count()).select_from(_jobs).where(of_owner & (c.status == "queued"))
        )
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def oldest_waiting(self) -> datetime | None:
        """When the oldest job no worker has taken yet was journaled (any owner); None: none.

        One lookup on the ``(status, created_at)`` index, cheap enough for a health check.
        """
        c = _jobs.c
        query = sa.select(sa.func.min(c.created_at)).where(c.status == "queued")
        with self._db.read() as conn:
            oldest: datetime | None = conn.execute(query).scalar_one()
        return oldest

    def release(self, job_id: str, holder: str) -> None:
        """Give up ``holder``'s lease on the job (nothing happens if another holds it)."""
        MediaJobRepository(self._db).release_lease(job_id, holder)

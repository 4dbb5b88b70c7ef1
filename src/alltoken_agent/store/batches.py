"""The batch journal: one row per batch run, one per input line, claimed by one runner at a time.

A run is keyed by the hash of its input file and of its default settings, so running
the same command again finds the same run: lines already done are not sent again and
their stored output is emitted as it was. Lines are taken with one conditional UPDATE
(SQLite and PostgreSQL alike) or, on PostgreSQL, ``FOR UPDATE SKIP LOCKED``, so two
runners (``batch`` and ``worker`` processes, on one machine or several) never take the
same line. A runner's claim is a lease: a runner that dies leaves its lines to be taken
again once the lease runs out, or at once by a runner on the same host that sees the
holder's process is gone.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from alltoken_agent.store.engine import Database
from alltoken_agent.store.schema import batch_items as _items
from alltoken_agent.store.schema import batch_runs as _runs
from alltoken_agent.store.schema import media_jobs as _jobs

if TYPE_CHECKING:
    from alltoken_agent.store.store import Store

ItemStatus = Literal["queued", "running", "done", "failed", "invalid"]
"""``queued``: to run; ``running``: leased; ``done``: answered; ``failed``: ran and failed
(run again only when asked: ``batch --retry-failed``); ``invalid``: the input line was
unusable (never run)."""


JOB_KEY = "job_id"
"""The key of a media line's request that names its media job, once one was made."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def lease_holder() -> str:
    """A name for this process as a lease holder: ``host/pid/random``."""
    return f"{socket.gethostname()}/{os.getpid()}/{os.urandom(4).hex()}"


def holder_is_dead(holder: str) -> bool:
    """Whether ``holder`` names a process on this host that no longer runs."""
    if sys.platform == "win32":
        return False  # os.kill(pid, 0) would terminate the process there, not probe it
    host, _, rest = holder.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's process: only its lease's end says it is gone
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists under another user
    return False


@dataclass(frozen=True)
class BatchItem:
    """One input line of a batch run, as journaled."""

    run_id: str
    line: int
    """1-based line number in the input file."""
    status: str
    request: dict[str, Any] | None
    """The line's settings merged with the run's defaults (None for an invalid line)."""
    output: dict[str, Any] | None
    """The output line, once the line ran (or was found invalid)."""
    cost: Decimal | None
    """What the line cost, when known."""
    lease_owner: str | None = None
    lease_until: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> BatchItem:
        """Build from a ``batch_items`` row mapping."""
        return cls(
            run_id=row["run_id"],
            line=row["line"],
            status=row["status"],
            request=row["request"],
            output=row["output"],
            cost=_decimal(row["cost"]),
            lease_owner=row["lease_owner"],
            lease_until=row["lease_until"],
        )


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class NewItem:
    """A line to journal when a run is created."""

    line: int
    request: dict[str, Any] | None
    output: dict[str, Any] | None = None
    """Set for a line that is invalid: its error output."""


class BatchRepository:
    """Batch runs and their lines in one database (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def of(cls, store: Store) -> BatchRepository:
        """The batch journal of an open :class:`~alltoken_agent.store.Store`."""
        # Same package: the store hands its Database to its own repositories.
        return cls(store._db)

    def open_run(
        self,
        run_id: str,
        *,
        input_sha256: str,
        input_name: str,
        settings: dict[str, Any],
        items: Sequence[NewItem],
    ) -> bool:
        """Journal a run and its lines unless it is there already; True when created."""
        now = _now()

        def work(conn: sa.Connection) -> bool:
            if conn.scalar(sa.select(_runs.c.id).where(_runs.c.id == run_id)) is not None:
                return False
            conn.execute(
                sa.insert(_runs).values(
                    id=run_id,
                    input_sha256=input_sha256,
                    input_name=input_name,
                    settings=settings,
                    lines=len(items),
                    created_at=now,
                )
            )
            if items:
                conn.execute(
                    sa.insert(_items),
                    [
                        {
                            "run_id": run_id,
                            "line": item.line,
                            "status": "invalid" if item.request is None else "queued",
                            "request": item.request,
                            "output": item.output,
                            "cost": None,
                            "updated_at": now,
                        }
                        for item in items
                    ],
                )
            return True

        try:
            return self._db.write_retrying(work)
        except Exception:
            # Two runners opened the same run at once: the loser finds the winner's.
            if self.run_exists(run_id):
                return False
            raise

    def run_exists(self, run_id: str) -> bool:
        """Whether a run of this id is journaled."""
        with self._db.read() as conn:
            return conn.scalar(sa.select(_runs.c.id).where(_runs.c.id == run_id)) is not None

    def items(self, run_id: str) -> list[BatchItem]:
        """Every line of the run, in input order."""
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(_items).where(_items.c.run_id == run_id).order_by(_items.c.line)
            )
            return [BatchItem.from_row(row._mapping) for row in rows]

    def requeue_failed(self, run_id: str) -> int:
        """Put the run's failed lines back in the queue (a re-run tries them again).

        A media line keeps its job while the job is unfinished (the re-run polls it, never
        paying twice) or completed; a job that ended without a result is dropped, so the
        re-run submits a new one.
        """
        c = _items.c
        failed = (c.run_id == run_id) & (c.status == "failed")
        ended = ("failed", "cancelled", "expired")
        with self._db.write() as conn:
            for line, request in conn.execute(sa.select(c.line, c.request).where(failed)):
                job_id = (request or {}).get(JOB_KEY)
                status = None
                if job_id is not None:
                    status = conn.scalar(sa.select(_jobs.c.status).where(_jobs.c.id == job_id))
                if status in ended:
                    kept = {k: v for k, v in request.items() if k != JOB_KEY}
                    conn.execute(
                        sa.update(_items)
                        .where((c.run_id == run_id) & (c.line == line))
                        .values(request=kept)
                    )
            result = conn.execute(
                sa.update(_items)
                .where(failed)
                # The cost stays: what the failed try spent still counts toward a budget.
                .values(status="queued", output=None, updated_at=_now())
            )
            return int(result.rowcount or 0)

    def attach_job(self, item: BatchItem, holder: str, job_id: str) -> BatchItem | None:
        """Record the media job of ``holder``'s line before the job is journaled or sent.

        A runner that takes the line after a crash then finishes that job (polling it,
        never submitting it again) instead of making another. Returns the line as now
        stored, or None when ``holder`` no longer holds it (nothing is changed).
        """
        c = _items.c
        request = {**(item.request or {}), JOB_KEY: job_id}
        mine = (
            (c.run_id == item.run_id)
            & (c.line == item.line)
            & (c.lease_owner == holder)
            & (c.status == "running")
        )

        def work(conn: sa.Connection) -> bool:
            changed = conn.execute(sa.update(_items).where(mine).values(request=request))
            return bool(changed.rowcount)

        if not self._db.write_retrying(work):
            return None
        return replace(item, request=request)

    def claim(self, holder: str, seconds: float, *, run_id: str | None = None) -> BatchItem | None:
        """Lease the next line to run (of ``run_id``, or of any run) to ``holder``.

        A line is free when it is queued, or running under a lease that ran out or
        whose holder is a dead process on this host. Returns None when none is free.
        The pick and the conditional UPDATE share one transaction: on PostgreSQL the
        pick skips rows another runner has locked (``FOR UPDATE SKIP LOCKED``); on
        SQLite the write transaction holds the database's one write lock.
        """
        now = _now()
        until = now + timedelta(seconds=seconds)
        c = _items.c
        for _ in range(20):  # lost races only; each round sees the winner's change
            with self._db.write() as conn:
                candidate = self._candidate(conn, now, run_id)
                if candidate is None:
                    return None
                line_run, line, old_owner = candidate
                same = (c.run_id == line_run) & (c.line == line)
                owner = c.lease_owner.is_(None) if old_owner is None else c.lease_owner == old_owner
                taken = conn.execute(
                    sa.update(_items)
                    .where(same & c.status.in_(("queued", "running")) & owner)
                    .values(status="running", lease_owner=holder, lease_until=until)
                ).rowcount
                if taken == 1:
                    row = conn.execute(sa.select(_items).where(same)).first()
                    assert row is not None
                    return BatchItem.from_row(row._mapping)
        return None

    @staticmethod
    def _candidate(
        conn: sa.Connection, now: datetime, run_id: str | None
    ) -> tuple[str, int, str | None] | None:
        c = _items.c
        expired = (c.status == "running") & (c.lease_until <= now)
        query = sa.select(c.run_id, c.line, c.lease_owner).where((c.status == "queued") | expired)
        if run_id is not None:
            query = query.where(c.run_id == run_id)
        query = query.order_by(c.run_id, c.line).limit(1)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is not None:
            return row.run_id, row.line, row.lease_owner
        # A holder on this host that died (SIGKILL) frees its lines at once.
        running = sa.select(c.run_id, c.line, c.lease_owner).where(c.status == "running")
        if run_id is not None:
            running = running.where(c.run_id == run_id)
        for row in conn.execute(running.order_by(c.run_id, c.line)):
            if row.lease_owner is not None and holder_is_dead(row.lease_owner):
                return row.run_id, row.line, row.lease_owner
        return None

    def renew(self, items: Iterable[BatchItem], holder: str, seconds: float) -> None:
        """Extend ``holder``'s leases on ``items`` (those it still holds)."""
        keys = [(item.run_id, item.line) for item in items]
        if not keys:
            return
        until = _now() + timedelta(seconds=seconds)
        c = _items.c
        with self._db.write() as conn:
            for run, line in keys:
                conn.execute(
                    sa.update(_items)
                    .where(
                        (c.run_id == run)
                        & (c.line == line)
                        & (c.lease_owner == holder)
                        & (c.status == "running")
                    )
                    .values(lease_until=until)
                )

    def finish(
        self,
        item: BatchItem,
        holder: str,
        *,
        output: dict[str, Any],
        cost: Decimal | None,
        ok: bool,
    ) -> bool:
        """Record the line's output; False when ``holder`` no longer held it."""
        c = _items.c

        def work(conn: sa.Connection) -> bool:
            done = conn.execute(
                sa.update(_items)
                .where(
                    (c.run_id == item.run_id)
                    & (c.line == item.line)
                    & (c.lease_owner == holder)
                    & (c.status == "running")
                )
                .values(
                    status="done" if ok else "failed",
                    output=output,
                    cost=None if cost is None else str(cost),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=_now(),
                )
            ).rowcount
            return bool(done)

        return self._db.write_retrying(work)

    def release(self, item: BatchItem, holder: str) -> None:
        """Give the line back to the queue, not run (a budget stop, an interrupt)."""
        c = _items.c
        with self._db.write() as conn:
            conn.execute(
                sa.update(_items)
                .where(
                    (c.run_id == item.run_id) & (c.line == item.line) & (c.lease_owner == holder)
                )
                .values(status="queued", lease_owner=None, lease_until=None, updated_at=_now())
            )

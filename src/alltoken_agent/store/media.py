"""The media job journal, reached as ``store.media_jobs``: one row per image or video job.

A job is written before its first request (status ``submitting``, with the idempotency
key its submit will carry and where its files go) and updated as it moves:
``submitting`` -> ``pending`` (the gateway accepted it; ``task_id`` is known) -> one of
``completed``, ``failed``, ``cancelled``, ``expired``. A crash anywhere leaves a row that
``alltoken-agent jobs resume`` can finish without paying twice. A server that hands its
jobs to workers journals them ``queued`` first (see ``store/media_queue.py``): the worker
that takes one moves it to ``submitting``.

Ownership follows the session repository: ``owner=None`` is the local owner, not "any".
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, get_args

import sqlalchemy as sa

from alltoken_agent.errors import UserError
from alltoken_agent.store import schema
from alltoken_agent.store.engine import Database
from alltoken_agent.store.records import _UNSET, _Unset, check_limit, check_owner

MediaKind = Literal["image", "video"]
MediaJobStatus = Literal[
    "queued", "submitting", "pending", "completed", "failed", "cancelled", "expired"
]

KINDS: tuple[MediaKind, ...] = get_args(MediaKind)
STATUSES: tuple[MediaJobStatus, ...] = get_args(MediaJobStatus)
UNFINISHED: tuple[MediaJobStatus, ...] = ("queued", "submitting", "pending")
"""Statuses ``jobs resume`` picks up: waiting for a worker, the submit may or may not have
reached the gateway, or the gateway has the task and the result is not on disk yet."""
UNSENT: tuple[MediaJobStatus, ...] = ("queued", "submitting")
"""Statuses of a job the gateway may not have seen yet."""

SUBMIT_SENT = "submit_unconfirmed_at"
"""The ``result`` key of a job whose submit was sent but not answered (ISO time): set
before the submit goes out, dropped once it is answered or known not to have left."""

_jobs = schema.media_jobs


def new_job_id() -> str:
    """Return a fresh random job id: ``job_`` and 16 hex digits."""
    return f"job_{secrets.token_hex(8)}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class MediaJobRecord:
    """One journaled media job, as stored."""

    id: str
    """Our id (``job_`` + 16 hex), known before the gateway has seen the job."""
    kind: MediaKind
    status: MediaJobStatus
    provider: str
    """Provider profile name the job was submitted through."""
    dialect: str
    """Media dialect of that provider (``alltoken``, ``tokenhub``, ``openai``)."""
    model: str
    params: dict[str, Any]
    """The caller's parameters (prompt, size, duration, ...)."""
    output_path: str
    """Where the files go: a file path, or a folder (ending in a separator)."""
    created_at: datetime
    updated_at: datetime
    _: KW_ONLY
    base_url: str | None = None
    owner: str | None = None
    task_id: str | None = None
    """The gateway's task id, once the submit was answered."""
    idempotency_key: str | None = None
    """Sent on every try of the submit, so a retried submit is never billed twice."""
    request: dict[str, Any] | None = None
    """The wire body as submitted (uploads resolved); resubmitted as is on resume."""
    files: list[dict[str, Any]] = field(default_factory=list)
    """Saved files: ``{"path", "mime_type", "size", "url"}`` each."""
    result: dict[str, Any] = field(default_factory=dict)
    """What the gateway reported: durable URLs and their expiry, usage, request id."""
    remote_status: str | None = None
    """The last status word the gateway used (``queued``, ``RUNNING``, ...)."""
    error_code: str | None = None
    error: str | None = None
    submitted_at: datetime | None = None
    """When the gateway accepted the job."""
    completed_at: datetime | None = None
    """When the job reached a final status."""
    lease_owner: str | None = None
    """The process finishing the job now (``host/pid/random``), while ``lease_until``."""
    lease_until: datetime | None = None
    """When that lease runs out unless renewed; past it, another process may take over."""

    @property
    def finished(self) -> bool:
        """Whether the job reached a final status (nothing left to resume)."""
        return self.status not in UNFINISHED

    @property
    def never_sent(self) -> bool:
        """Whether the job was journaled but its submit never left (nothing was paid)."""
        return self.status in UNSENT and self.task_id is None and SUBMIT_SENT not in (self.result)

    def leased_to_other(self, holder: str | None, now: datetime | None = None) -> bool:
        """Whether a process other than ``holder`` holds a lease on the job that still runs."""
        if self.lease_owner is None or self.lease_owner == holder or self.lease_until is None:
            return False
        return self.lease_until > (now or _now())

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> MediaJobRecord:
        """Build a record from a row of ``media_jobs``."""
        values = {f.name: row[f.name] for f in fields(cls)}
        values["params"] = dict(values["params"] or {})
        values["request"] = None if values["request"] is None else dict(values["request"])
        values["files"] = [dict(item) for item in values["files"] or ()]
        values["result"] = dict(values["result"] or {})
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (times as ISO 8601 text)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("created_at", "updated_at", "submitted_at", "completed_at"):
            value = data[name]
            data[name] = None if value is None else value.isoformat()
        return data


def _check(kind: str | None, statuses: Iterable[str]) -> None:
    if kind is not None and kind not in KINDS:
        raise UserError(f"a media job kind is one of {', '.join(KINDS)}, not {kind!r}")
    for status in statuses:
        if status not in STATUSES:
            raise UserError(f"a media job status is one of {', '.join(STATUSES)}, not {status!r}")


def _of_owner(owner: str | None) -> sa.ColumnElement[bool]:
    return _jobs.c.owner.is_(None) if owner is None else _jobs.c.owner == owner


def _lease_free(now: datetime) -> sa.ColumnElement[bool]:
    c = _jobs.c
    return c.lease_owner.is_(None) | c.lease_until.is_(None) | (c.lease_until <= now)


class MediaJobRepository:
    """The media job journal of one database. Thread-safe; synchronous.

    Every method runs in one transaction of its own; async callers use
    :func:`asyncio.to_thread`.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        kind: MediaKind,
        provider: str,
        dialect: str,
        model: str,
        params: Mapping[str, Any],
        output_path: str,
        idempotency_key: str | None,
        base_url: str | None = None,
        request: Mapping[str, Any] | None = None,
        owner: str | None = None,
        job_id: str | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> MediaJobRecord:
        """Journal a new job with status ``submitting`` and return it.

        ``result`` starts the job's ``result`` column (e.g. ``{"offline": True}``).
        """
        _check(kind, ())
        check_owner(owner)
        now = _now()
        record = MediaJobRecord(
            id=job_id or new_job_id(),
            kind=kind,
            status="submitting",
            provider=provider,
            dialect=dialect,
            model=model,
            params=dict(params),
            output_path=output_path,
            created_at=now,
            updated_at=now,
            base_url=base_url,
            owner=owner,
            idempotency_key=idempotency_key,
            request=None if request is None else dict(request),
            result=dict(result or {}),
        )
        values = {f.name: getattr(record, f.name) for f in fields(record)}
        with self._db.write() as conn:
            conn.execute(sa.insert(_jobs).values(values))
        return record

    def get(self, job_id: str, *, owner: str | None = None) -> MediaJobRecord | None:
        """Return ``owner``'s job with this id, or None."""
        return self._first((_jobs.c.id == job_id) & _of_owner(owner))

    def get_any_owner(self, job_id: str) -> MediaJobRecord | None:
        """Return the job with this id, whoever owns it.

        Only for a caller that checks the owner itself: a signed file link, whose
        signature binds the owner it does not carry.
        """
        return self._first(_jobs.c.id == job_id)

    def find(self, job_or_task_id: str, *, owner: str | None = None) -> MediaJobRecord | None:
        """Return ``owner``'s job with this job id, else the newest with this gateway task id."""
        return self.get(job_or_task_id, owner=owner) or self._first(
            (_jobs.c.task_id == job_or_task_id) & _of_owner(owner)
        )

    def update(
        self,
        job_id: str,
        *,
        status: MediaJobStatus | _Unset = _UNSET,
        task_id: str | None | _Unset = _UNSET,
        request: Mapping[str, Any] | None | _Unset = _UNSET,
        files: Sequence[Mapping[str, Any]] | _Unset = _UNSET,
        result: Mapping[str, Any] | _Unset = _UNSET,
        remote_status: str | None | _Unset = _UNSET,
        error_code: str | None | _Unset = _UNSET,
        error: str | None | _Unset = _UNSET,
        submitted_at: datetime | None | _Unset = _UNSET,
        completed_at: datetime | None | _Unset = _UNSET,
    ) -> MediaJobRecord:
        """Change the given fields only and return the job.

        A move to a final status stamps ``completed_at`` unless one is given.

        Raises:
            UserError: No job has this id, or the status is unknown.
        """
        given = {
            "status": status,
            "task_id": task_id,
            "request": request,
            "files": files,
            "result": result,
            "remote_status": remote_status,
            "error_code": error_code,
            "error": error,
            "submitted_at": submitted_at,
            "completed_at": completed_at,
        }
        values: dict[str, Any] = {k: v for k, v in given.items() if not isinstance(v, _Unset)}
        if "status" in values:
            _check(None, [values["status"]])
            if values["status"] not in UNFINISHED:
                values.setdefault("completed_at", _now())
        for name in ("request", "result"):
            if values.get(name) is not None:
                values[name] = dict(values[name])
        if "files" in values:
            values["files"] = [dict(item) for item in values["files"]]
        with self._db.write() as conn:
            conn.execute(
                sa.update(_jobs).where(_jobs.c.id == job_id).values(**values, updated_at=_now())
            )
            row = conn.execute(sa.select(_jobs).where(_jobs.c.id == job_id)).first()
        if row is None:
            raise UserError(f"no media job has the id {job_id!r}; `alltoken-agent jobs list`")
        return MediaJobRecord.from_row(row._mapping)

    def take_lease(
        self, job_id: str, holder: str, seconds: float, *, steal_from: str | None = None
    ) -> MediaJobRecord:
        """Lease the job to ``holder`` for ``seconds`` (or renew its lease); return the row.

        One conditional UPDATE, so two processes racing for a job cannot both win, on
        SQLite and PostgreSQL alike: it succeeds when nobody holds the job, the lease
        ran out, ``holder`` holds it already, or ``steal_from`` (a holder known to be
        dead) does. The returned row says who holds the job now: ``lease_owner ==
        holder`` when the lease was taken.

        Raises:
            UserError: No job has this id.
        """
        now = _now()
        c = _jobs.c
        free = _lease_free(now) | (c.lease_owner == holder)
        if steal_from is not None:
            free = free | (c.lease_owner == steal_from)
        until = now + timedelta(seconds=seconds)
        with self._db.write() as conn:
            conn.execute(
                sa.update(_jobs)
                .where((c.id == job_id) & free)
                .values(lease_owner=holder, lease_until=until)
            )
            row = conn.execute(sa.select(_jobs).where(c.id == job_id)).first()
        if row is None:
            raise UserError(f"no media job has the id {job_id!r}; `alltoken-agent jobs list`")
        return MediaJobRecord.from_row(row._mapping)

    def release_lease(self, job_id: str, holder: str) -> None:
        """Give up ``holder``'s lease on the job (nothing happens if another holds it)."""
        c = _jobs.c
        with self._db.write() as conn:
            conn.execute(
                sa.update(_jobs)
                .where((c.id == job_id) & (c.lease_owner == holder))
                .values(lease_owner=None, lease_until=None)
            )

    def discard_unsent(self, job_id: str, *, owner: str | None = None) -> bool:
        """Forget ``owner``'s job if its submit never left and nobody is sending it now.

        Returns:
            Whether the job was deleted (False: it was sent, or is being sent, or is gone).
        """
        record = self.get(job_id, owner=owner)
        if record is None or not record.never_sent:
            return False
        c = _jobs.c
        unsent = c.status.in_(UNSENT) & c.task_id.is_(None) & _lease_free(_now())
        with self._db.write() as conn:
            # Checked again in the DELETE: a process may have taken the job meanwhile.
            gone = conn.execute(
                sa.delete(_jobs).where((c.id == job_id) & _of_owner(owner) & unsent)
            )
        return bool(gone.rowcount)

    def list_jobs(
        self,
        *,
        owner: str | None = None,
        kind: MediaKind | None = None,
        statuses: Sequence[MediaJobStatus] | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[MediaJobRecord]:
        """Return ``owner``'s jobs, newest first (or oldest first), at most ``limit``."""
        check_limit(limit)
        _check(kind, statuses or ())
        condition = _of_owner(owner)
        if kind is not None:
            condition = condition & (_jobs.c.kind == kind)
        if statuses:
            condition = condition & _jobs.c.status.in_(list(statuses))
        order = (
            (_jobs.c.created_at, _jobs.c.id)
            if oldest_first
            else (_jobs.c.created_at.desc(), _jobs.c.id.desc())
        )
        query = sa.select(_jobs).where(condition).order_by(*order).limit(limit)
        with self._db.read() as conn:
            return [MediaJobRecord.from_row(row._mapping) for row in conn.execute(query)]

    def unfinished(
        self, *, owner: str | None = None, kind: MediaKind | None = None, limit: int = 1000
    ) -> list[MediaJobRecord]:
        """Return ``owner``'s jobs still ``submitting`` or ``pending``, oldest first."""
        return self.list_jobs(
            owner=owner, kind=kind, statuses=UNFINISHED, limit=limit, oldest_first=True
        )

    def median_seconds(self, kind: MediaKind, model: str, *, sample: int = 20) -> float | None:
        """Median seconds from accepted to completed over the model's last ``sample`` jobs.

        None when the model has no completed job yet. Sizes the first poll's delay.
        """
        check_limit(sample)
        c = _jobs.c
        done = (c.kind == kind) & (c.model == model) & (c.status == "completed")
        query = (
            sa.select(c.submitted_at, c.completed_at)
            .where(done & c.submitted_at.is_not(None) & c.completed_at.is_not(None))
            .order_by(c.completed_at.desc())
            .limit(sample)
        )
        with self._db.read() as conn:
            spans = [(done - start).total_seconds() for start, done in conn.execute(query) if start]
        spans = [span for span in spans if span >= 0]
        return statistics.median(spans) if spans else None

    def _first(self, condition: sa.ColumnElement[bool]) -> MediaJobRecord | None:
        query = sa.select(_jobs).where(condition).order_by(_jobs.c.created_at.desc()).limit(1)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else MediaJobRecord.from_row(row._mapping)

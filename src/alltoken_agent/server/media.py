"""Media jobs the server runs (or hands to workers), journaled under their caller's owner id.

``POST /v1/images`` and ``/v1/videos`` journal the job (``create_job``, status
``submitting``, owner = the caller's key id) and answer 202 at once. A task on the
server's event loop then submits it, polls it and saves its files under
``<media folder>/<owner>/``, all through the media core (``resume``), so the journal
is the one truth the routes read.

* Polling has no deadline here: a job is driven until it ends. When polling or the
  submit keeps failing (the gateway is down), the job stays resumable in the journal
  and this server tries again with a growing delay, as long as it runs.
* Shutdown cancels the tasks. A job still polling stays ``pending`` (or
  ``submitting``) in the journal; a download already under way finishes first (the
  core shields saving a paid result).
* Startup resumes, in the background, the unfinished jobs of this server's keys (the
  local owner on an open server) whose files go under its media folder, made through
  the gateway's dialect, that were left before it started (a job nobody has leased
  since is a live replica's, about to lease it). Jobs of a key no longer configured
  stay in the journal.
* Then, every ``SWEEP_EVERY`` seconds, it takes over such jobs that another replica on
  the same database left behind: their lease ran out (the replica died or hung), its
  holder is a dead process of this host (SIGKILL), or nobody leased them for
  ``LEASE_SECONDS`` (the replica stopped). The takeover resumes by polling: a job the
  gateway accepted is never submitted again, and one whose submit is in doubt stays
  for a person, as in ``jobs resume``.

With ``[server] media_jobs = "workers"`` (``serve --media-jobs workers``) the server runs
no job: a submit journals the job ``queued`` (``store/media_queue.py``) for the
``alltoken-agent worker`` processes on the same store, which take it at once and save
its files under the same per-owner folder; the server neither leases, resumes nor
sweeps, and its routes read the shared journal. Jobs another server queued are never
taken by a server that runs its own: they are the workers'.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alltoken_agent import (
    AllTokenAgentError,
    Gateway,
    MediaJobError,
    MediaJobRecord,
    RetryPolicy,
    UserError,
    request_tags,
)
from alltoken_agent.media import (
    LEASE_SECONDS,
    ImagesAPI,
    Media,
    MediaJobStatus,
    PollPolicy,
    VideosAPI,
    holder_is_dead,
)
from alltoken_agent.server.errors import ApiError
from alltoken_agent.store.media_queue import MediaJobQueue

if TYPE_CHECKING:
    from alltoken_agent.store import Store

logger = logging.getLogger("alltoken_agent.server")

REDRIVE = RetryPolicy(base_delay=10.0, max_delay=300.0)
"""How long before a job whose polling failed is driven again: the gateway's backoff
(a draw below 10 s, doubling up to 300 s), so replicas that failed together spread out."""
LOCAL_FOLDER = "local"
"""The folder of the local owner's files (an open server's callers)."""
FINISHED: frozenset[MediaJobStatus] = frozenset({"completed", "failed", "cancelled", "expired"})
SWEEP_EVERY = 5.0
"""Seconds between two looks for jobs another replica left unfinished: a replica killed
on this host is taken over within this long, one on another host within the lease's
``LEASE_SECONDS`` more."""


def leased_elsewhere(record: MediaJobRecord, now: datetime) -> bool:
    """Whether a live process holds the job's lease (a dead one of this host does not)."""
    if record.lease_owner is None or record.lease_until is None or record.lease_until <= now:
        return False
    return not holder_is_dead(record.lease_owner)


def orphaned(record: MediaJobRecord, now: datetime) -> bool:
    """Whether another replica left the job: see the module doc."""
    if record.status == "queued":
        return False  # handed to the workers
    if record.status == "submitting" and record.task_id is None and not record.never_sent:
        return False  # its submit is in doubt: never resent on our own
    if leased_elsewhere(record, now):
        return False
    if record.lease_owner is not None:
        return True  # its lease ran out, or its holder died
    # Never leased, or given up: a replica that journaled it a moment ago leases it next.
    return record.updated_at <= now - timedelta(seconds=LEASE_SECONDS)


def _too_many(what: str, where: str) -> ApiError:
    return ApiError(
        429,
        "too_many_jobs",
        f"this key already has {what}; wait for one to end ({where})",
        type="rate_limit_error",
        headers={"Retry-After": "5"},
    )


def shutting_down() -> ApiError:
    """The 503 for a job submitted while the server shuts down."""
    return ApiError(
        503,
        "server_shutting_down",
        "this server is shutting down; submit the job again (to another replica)",
        type="server_error",
        headers={"Retry-After": "1"},
    )


class MediaJobs:
    """The media jobs this server drives: started, resumed at startup, stopped on shutdown."""

    def __init__(
        self,
        gateway: Gateway,
        store: Store,
        folder: Path,
        *,
        owners: Sequence[str | None],
        max_per_owner: int,
        sweep_every: float = SWEEP_EVERY,
        to_workers: bool = False,
    ) -> None:
        self.gateway = gateway
        self.jobs = Media(gateway, store)
        """The jobs, journaled in the server's store."""
        self.folder = folder
        """The server's media folder; each owner's files go to a folder inside."""
        self.owners = list(owners)
        """Whose unfinished jobs are resumed at startup."""
        self.max_per_owner = max_per_owner
        self.to_workers = to_workers
        """Whether jobs are queued for ``alltoken-agent worker`` instead of run here."""
        self.queue = MediaJobQueue.of(store)
        self.policies: dict[str, PollPolicy] = {
            "image": replace(PollPolicy.for_images(), deadline=None),
            "video": replace(PollPolicy.for_videos(), deadline=None),
        }
        """How jobs are polled, by kind: the core's defaults, without a deadline."""
        self.stopping = False
        self.sweep_every = sweep_every
        self._tasks: dict[str, tuple[str | None, asyncio.Task[None]]] = {}
        self._startup: asyncio.Task[None] | None = None
        self._started = datetime.now(timezone.utc)
        """When this server started: a job nobody leased since is a live replica's."""
        self._swept: set[str] = set()
        """Jobs a sweep started here: tried once; a job still unfinished after that is
        not picked up again by this server (a restart resumes it)."""

    def __len__(self) -> int:
        return len(self._tasks)

    def api(self, kind: str) -> ImagesAPI | VideosAPI:
        """The gateway's API for one kind of job."""
        return self.jobs.images if kind == "image" else self.jobs.videos

    def folder_of(self, owner: str | None) -> Path:
        """Where ``owner``'s files are saved."""
        return self.folder / (owner or LOCAL_FOLDER)

    def serves(self, path: str | os.PathLike[str]) -> bool:
        """Whether a file (or a job's output path) lies in this server's media folder."""
        return Path(os.path.normpath(Path(path).absolute())).is_relative_to(self.folder)

    def running(self, job_id: str) -> bool:
        """Whether this server is driving the job now."""
        return job_id in self._tasks

    async def create(self, kind: str, owner: str | None, **options: Any) -> MediaJobRecord:
        """Journal a job for ``owner`` and drive it in the background, or queue it for workers.

        Raises:
            ApiError: 503 while shutting down, 429 when the owner has too many jobs
                running here (or, queuing for workers, waiting in the queue).
            UserError: Bad options (nothing is journaled).
        """
        if self.stopping:
            raise shutting_down()
        if self.to_workers:
            busy = await asyncio.to_thread(self.queue.waiting, owner=owner)
            if busy >= self.max_per_owner:
                raise _too_many(f"{busy} media jobs waiting for a worker", "GET /v1/jobs")
        elif sum(1 for who, _ in self._tasks.values() if who == owner) >= self.max_per_owner:
            raise _too_many(f"{self.max_per_owner} media jobs running", "GET /v1/jobs")
        save_to = f"{self.folder_of(owner)}{os.sep}"
        record = await self.api(kind).create_job(save_to=save_to, owner=owner, **options)
        if self.to_workers:
            return await asyncio.to_thread(self.queue.enqueue, record.id)
        self.start(record)
        return record

    def start(self, record: MediaJobRecord) -> None:
        """Drive a journaled job in a task of its own (once; not while stopping).

        A server that hands its jobs to workers drives none: the workers take the job.
        """
        if self.to_workers or self.stopping or record.id in self._tasks:
            return
        task = asyncio.create_task(self._drive(record), name=f"media-{record.id}")
        self._tasks[record.id] = (record.owner, task)
        task.add_done_callback(lambda _: self._tasks.pop(record.id, None))

    def stop_driving(self, job_id: str) -> None:
        """Stop the task of a job that ended elsewhere (a cancel)."""
        entry = self._tasks.get(job_id)
        if entry is not None:
            entry[1].cancel()

    async def _drive(self, record: MediaJobRecord) -> None:
        api = self.api(record.kind)
        redrives = 0
        # The ledger's row for the job carries the caller's owner id, like a message's.
        with request_tags(owner=record.owner):
            while True:
                try:
                    await api.resume(record.id, owner=record.owner, poll=self.policies[record.kind])
                    return
                except MediaJobError as error:
                    if error.status in FINISHED or not await self._unfinished(record):
                        return  # the journal says how it ended
                    if error.code == "submit_unconfirmed":
                        # Only a person can tell whether the gateway took it: never resend.
                        logger.warning(
                            "media job %s stays submitting: %s",
                            record.id,
                            self.gateway.redact(str(error)),
                        )
                        return
                    delay = REDRIVE.backoff(redrives)
                    logger.warning(
                        "media job %s is still unfinished (%s); trying again in %.0f s",
                        record.id,
                        self.gateway.redact(str(error)),
                        delay,
                    )
                except AllTokenAgentError as error:
                    logger.error(
                        "media job %s cannot be driven: %s",
                        record.id,
                        self.gateway.redact(str(error)),
                    )
                    return
                except Exception as error:
                    logger.error(
                        "media job %s failed unexpectedly: %s",
                        record.id,
                        self.gateway.redact(repr(error)),
                    )
                    return
                await asyncio.sleep(delay)
                redrives += 1

    async def _unfinished(self, record: MediaJobRecord) -> bool:
        try:
            now = await self.jobs.find(record.id, owner=record.owner)
        except UserError:
            return False
        return not now.finished

    def resume_at_startup(self) -> None:
        """Resume this server's unfinished jobs, then sweep for orphans (see the module doc)."""
        if self.to_workers:
            return  # the workers finish every job, left or new
        self._startup = asyncio.create_task(self._resume_and_sweep(), name="media-resume")

    async def _resume_and_sweep(self) -> None:
        await self._resume_unfinished()
        while not self.stopping:
            await asyncio.sleep(self.sweep_every)
            try:
                await self._resume_unfinished(sweep=True)
            except Exception as error:  # a store that is down now: the next sweep tries again
                logger.warning("media sweep failed: %s", self.gateway.redact(repr(error)))

    async def _resume_unfinished(self, *, sweep: bool = False) -> None:
        dialect = self.gateway.provider.dialect
        for owner in self.owners:
            try:
                records = await self.jobs.pending(owner=owner)
            except AllTokenAgentError as error:
                logger.error("cannot read the media journal: %s", self.gateway.redact(str(error)))
                return
            now = datetime.now(timezone.utc)
            for record in records:
                if not self.serves(record.output_path):
                    continue  # the CLI's, or another server's
                if record.id in self._tasks or record.id in self._swept:
                    continue
                if record.status == "queued":
                    continue  # handed to the workers by a server that runs none
                if leased_elsewhere(record, now) or (sweep and not orphaned(record, now)):
                    continue  # another replica drives it
                if not sweep and record.lease_owner is None and record.updated_at > self._started:
                    # Journaled after this server started, by a live replica that leases it
                    # next (a start-up pass running late would race it for the lease); the
                    # sweep takes it if that replica never does.
                    continue
                if record.dialect != dialect:
                    logger.warning(
                        "media job %s was made through a %s gateway; this server speaks %s, "
                        "so it stays pending",
                        record.id,
                        record.dialect,
                        dialect,
                    )
                    self._swept.add(record.id)  # said once
                    continue
                if sweep:
                    self._swept.add(record.id)
                # A job another holder left is a takeover, said as a warning by the
                # lease when it is taken (media/lease.py), not here: a task started
                # earlier may be the one that takes it, after waiting for the lease.
                logger.info("resuming media job %s", record.id)
                self.start(record)

    async def stop(self, timeout: float = 10.0) -> None:
        """Cancel every job task (each stays resumable) and wait for them to wind down."""
        self.stopping = True
        tasks = [task for _, task in self._tasks.values()]
        if self._startup is not None:
            tasks.append(self._startup)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

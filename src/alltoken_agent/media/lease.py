"""One process finishes a job at a time: a lease in the journal, renewed while it works.

AllToken delivers an image's bytes once (§1.7): two processes polling the same task
(a ``jobs resume`` while the first run still polls, two server replicas) would have
one save the image and the other get ``410 image_already_retrieved``. So a run takes
the job's lease (a conditional UPDATE in the store, on SQLite and PostgreSQL alike)
before it touches the gateway, renews it while it polls and downloads, and gives it
up when it stops. A second run waits for the lease (saying so) and then finds the job
finished in the journal, or takes over when the first run stopped without finishing.

A holder is ``host/pid/random``: a lease held by a process of this host that no
longer exists (killed with SIGKILL) is taken over at once rather than after expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from alltoken_agent.errors import MediaJobError
from alltoken_agent.media.events import JobStatusEvent

if TYPE_CHECKING:
    from alltoken_agent.media._journal import Journal
    from alltoken_agent.media.events import JobEvent
    from alltoken_agent.store.media import MediaJobRecord

logger = logging.getLogger("alltoken_agent")

LEASE_SECONDS = 30.0
"""How long a lease lasts unless renewed; a crashed holder blocks others this long at most."""

RENEW_EVERY = LEASE_SECONDS / 3
"""Seconds between renewals: two may fail before the lease runs out."""

WAIT_STEP = 0.5
"""Seconds between two looks at the journal while another process holds the job."""


def new_holder() -> str:
    """A holder id for one run: ``host/pid/8 hex``."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"


def holder_is_dead(holder: str | None) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs (POSIX only)."""
    if holder is None or os.name != "posix":
        return False
    host, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


class Lease:
    """The lease of one run on one job."""

    def __init__(
        self,
        journal: Journal,
        *,
        label: Callable[[], str],
        emit: Callable[[JobEvent], None],
        holder: str | None = None,
    ) -> None:
        self.journal = journal
        # A worker that claimed the job from a queue (leasing it as ``holder``) hands
        # its lease to the run, which would otherwise wait for that lease to run out.
        self.holder = holder or new_holder()
        self._label = label
        self._emit = emit
        self._renewer: asyncio.Task[None] | None = None

    async def take(self, record: MediaJobRecord, deadline: float | None) -> MediaJobRecord:
        """Lease the job, waiting while another live process holds it; return the fresh row.

        ``deadline`` is a ``time.monotonic()`` moment after which waiting stops.

        Raises:
            MediaJobError: (code ``job_busy``) Still held by another process at the deadline.
        """
        steal: str | None = None
        told = False
        started = time.monotonic()
        # The holder whose lease this takes over: the journal still named it (its lease
        # ran out, or it died, also while we waited for it) and it never gave the job
        # up. None: nobody held it, or our own claim is handed over.
        left_by = record.lease_owner if record.lease_owner != self.holder else None
        waited: MediaJobRecord | None = None  # the live holder's lease, as last seen
        while True:
            now = await self.journal.take_lease(record.id, self.holder, LEASE_SECONDS, steal)
            if now.lease_owner == self.holder:
                if steal is None and waited is not None and waited.leased_to_other(self.holder):
                    left_by = None  # taken before that lease's end: its holder gave it up
                if left_by is not None:
                    # Said here, where it happens, whichever pass or command got here
                    # (a server's start-up or sweep, or a run that waited for the lease).
                    logger.warning("taking over media job %s, left by %s", record.id, left_by)
                self._renewer = asyncio.create_task(self._renew(record.id))
                return now
            if holder_is_dead(now.lease_owner):
                steal = left_by = now.lease_owner
                continue
            # A live holder: ours once it gives the lease up, or once the lease runs out.
            left_by, waited = now.lease_owner, now
            if not told:
                told = True
                self._emit(
                    JobStatusEvent(
                        job_id=record.id,
                        kind=record.kind,
                        task_id=now.task_id,
                        status="waiting",
                        remote_status=None,
                        elapsed=round(time.monotonic() - started, 3),
                    )
                )
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise MediaJobError(
                    f"{self._label()} is being finished by another process "
                    f"({now.lease_owner}), which saves its result; `alltoken-agent jobs show "
                    f"{record.id}` tells when it is done",
                    job_id=record.id,
                    status=now.status,
                    code="job_busy",
                )
            await asyncio.sleep(WAIT_STEP if left is None else min(WAIT_STEP, left))

    async def _renew(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                now = await self.journal.take_lease(job_id, self.holder, LEASE_SECONDS)
            except Exception as error:  # a busy store: the next renewal tries again
                logger.warning("could not renew the lease on media job %s: %s", job_id, error)
                continue
            if now.lease_owner != self.holder:
                logger.warning("media job %s was taken over by %s", job_id, now.lease_owner)
                return

    def release(self, job_id: str) -> None:
        """Stop renewing and give the lease up (synchronously: this runs on Ctrl-C too)."""
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        try:
            self.journal.repository.release_lease(job_id, self.holder)
        except Exception as error:  # it runs out on its own
            logger.warning("could not release the lease on media job %s: %s", job_id, error)

    @contextlib.asynccontextmanager
    async def held(
        self, record: MediaJobRecord, deadline: float | None
    ) -> AsyncIterator[MediaJobRecord]:
        """Hold the lease for the ``async with`` block (none for a finished job)."""
        if record.finished:
            yield record
            return
        fresh = await self.take(record, deadline)
        try:
            yield fresh
        finally:
            self.release(record.id)

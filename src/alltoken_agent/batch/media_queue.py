"""A worker finishing media jobs a server journaled and no live process is finishing.

Jobs are taken from :class:`~alltoken_agent.store.media_queue.MediaJobQueue` (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL), ``concurrency`` at a time. The worker leases a job
when it takes it and hands that lease to the media core's run, which resumes the job by
the journal's rules: one the gateway accepted is polled (never submitted again), one
never sent is submitted with its idempotency key. A budget stops new submits before they
would cross it; finishing a job already paid for costs nothing more and always runs.

Without ``watch`` the runner stops once no job is up for it. With ``watch`` (``worker
--watch``) it keeps looking every ``watch`` seconds, so a job a server queued for workers
is taken at once, and one whose worker died is taken over by polling when its lease
allows; it runs until cancelled (Ctrl-C, SIGTERM), each run giving its lease up.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import replace
from decimal import Decimal

from alltoken_agent.batch.media_line import media_estimate
from alltoken_agent.batch.runner import BatchSummary, LineTally, stops_new_work
from alltoken_agent.catalog import PriceLookup
from alltoken_agent.errors import AllTokenAgentError, UserError
from alltoken_agent.gateway import Gateway, request_tags
from alltoken_agent.ledger import RunningBudget
from alltoken_agent.media import LEASE_SECONDS, DownloadLimits, Media, PollPolicy, new_holder
from alltoken_agent.store.media import MediaJobRecord
from alltoken_agent.store.media_queue import MediaJobQueue

logger = logging.getLogger("alltoken_agent")

RETRY_AFTER = 30.0
"""Seconds a watching worker leaves a job it could not finish (the gateway was down)
before it may take it again."""


class MediaQueueRunner:
    """Takes media jobs up for a worker under ``folder`` and finishes them.

    Args:
        queue: Where jobs are taken from.
        gateway: The gateway the jobs were made through (a job of another dialect is
            left alone).
        folder: Only jobs whose files go under this folder (absolute, ending in a
            separator): the server's media folder.
        concurrency: Jobs in flight at once.
        budget_usd: Submit no job never sent whose estimate could cross this.
        grace: Seconds a job nobody leased yet is left to whoever journaled it.
        policies: Poll policies by kind; by default the media defaults, whose deadline
            leaves a job still running then pending (and its lease free) for later
            (with ``watch``: no deadline, as a server polls).
        media: The jobs on ``gateway``: ``Media(gateway, store)`` with the queue's own
            store, where the servers journaled them (required: the default store would
            hold none of the queue's jobs).
        watch: Seconds between two looks at a queue with nothing up for this worker;
            None stops the run at the first empty look.
    """

    def __init__(
        self,
        queue: MediaJobQueue,
        gateway: Gateway,
        *,
        media: Media,
        folder: str,
        concurrency: int = 4,
        budget_usd: Decimal | None = None,
        prices: PriceLookup | None = None,
        limits: DownloadLimits | None = None,
        grace: float = LEASE_SECONDS,
        policies: dict[str, PollPolicy] | None = None,
        watch: float | None = None,
    ) -> None:
        self.queue = queue
        self.gateway = gateway
        self.media = media
        self.folder = folder
        self.concurrency = max(1, concurrency)
        self.prices = prices
        self.limits = limits
        self.grace = grace
        self.watch = watch
        self.policies = policies or {}
        if watch is not None and policies is None:
            self.policies = {
                "image": replace(PollPolicy.for_images(), deadline=None),
                "video": replace(PollPolicy.for_videos(), deadline=None),
            }
        self.summary = BatchSummary()
        self.budget: RunningBudget | None = None
        if budget_usd is not None:
            self.budget = RunningBudget(budget_usd, prices=prices, label="worker budget")
        self._skip: dict[str, float] = {}
        """Jobs this run leaves alone, until when (``time.monotonic()``; inf: for good)."""
        self._reserved = Decimal(0)
        self._paid: list[Decimal] = []
        """Known costs of jobs this worker submitted: the next submit's estimate."""
        self._stop = False
        self._found_none = -math.inf
        """When a look at the queue last found nothing (``time.monotonic()``)."""

    @property
    def stopping(self) -> bool:
        """Whether new work stopped (a fatal error, the budget, or :meth:`stop`)."""
        return self._stop

    def stop(self) -> None:
        """Take no new job; the jobs in flight run to their end."""
        self._stop = True

    async def run(self) -> BatchSummary:
        """Finish jobs until none is up for a worker (or new work stops); the summary."""
        if self.budget is not None:
            self.budget.count_on(self.gateway)
        try:
            await asyncio.gather(*(self._slot() for _ in range(self.concurrency)))
        finally:
            if self.budget is not None:
                self.gateway.remove_observer(self.budget.observer)
            self.summary.simulated = self.gateway.simulated
        return self.summary

    async def _slot(self) -> None:
        while not self._stop:
            holder = new_holder()
            now = time.monotonic()
            if self.watch is not None and now - self._found_none < self.watch:
                # Another slot of this worker just found the queue empty: one look per
                # interval per worker, however many slots wait, keeps a pool's idle
                # load on the store down.
                await asyncio.sleep(self.watch - (now - self._found_none))
                continue
            try:
                record = await asyncio.to_thread(
                    self.queue.claim,
                    holder,
                    LEASE_SECONDS,
                    folder=self.folder,
                    grace=self.grace,
                    skip=frozenset(job for job, until in self._skip.items() if until > now),
                )
            except Exception as error:
                if self.watch is None:
                    raise
                # The store is down for a moment: a watching worker keeps watching.
                logger.warning("could not look at the media job queue: %s", error)
                record = None
            if record is None:
                if self.watch is None:
                    return
                self._found_none = time.monotonic()
                await asyncio.sleep(self.watch)
                continue
            self._found_none = -math.inf  # there may be more: the idle slots look too
            try:
                await self._finish(record, holder)
            finally:
                # The run gives its lease up when it ends; this covers a run that never
                # took it (refused before), so the job is not held until the lease ends.
                await asyncio.to_thread(self.queue.release, record.id, holder)

    async def _finish(self, record: MediaJobRecord, holder: str) -> None:
        # Tried once per worker run: a job still unfinished at the poll deadline (or made
        # through another gateway) is left for later, not taken again at once. A watching
        # worker tries a job the gateway kept from finishing again after a while.
        self._skip[record.id] = math.inf if self.watch is None else time.monotonic() + RETRY_AFTER
        estimate = self._estimate(record)
        if not self._affordable(estimate):
            self.summary.budget_stopped = True
            self._stop = True
            return
        self._reserved += estimate
        tally = LineTally(record.id, self.prices, key="media_job")
        self.gateway.add_observer(tally.observer)
        api = self.media.api(record)
        try:
            # The ledger's rows carry the job's owner, as when the server runs the job.
            with request_tags(owner=record.owner, media_job=record.id):
                await api.resume(
                    record.id,
                    owner=record.owner,
                    holder=holder,
                    poll=self.policies.get(record.kind),
                    limits=self.limits,
                )
        except asyncio.CancelledError:
            # A stop while the job was finishing: one the store holds as completed (its
            # file saved) is counted with its cost before the stop goes on, as a batch
            # line is: the worker's report must not leave out a saved, paid result.
            jobs = self.media.store.media_jobs
            saved = await asyncio.to_thread(jobs.get, record.id, owner=record.owner)
            if saved is not None and saved.status == "completed":
                self._count(record, ok=True, cost=tally.cost)
            raise
        except UserError:
            self._skip[record.id] = math.inf
            return  # made through another gateway: left for it
        except AllTokenAgentError as error:
            self._count(record, ok=False, cost=tally.cost)
            fatal = stops_new_work(error)
            if fatal is not None:
                self.summary.fatal = self.summary.fatal or fatal
                self._stop = True
            return
        finally:
            self._reserved -= estimate
            self.gateway.remove_observer(tally.observer)
        self._count(record, ok=True, cost=tally.cost)
        if record.never_sent and tally.cost is not None:
            self._paid.append(tally.cost)

    def _count(self, record: MediaJobRecord, *, ok: bool, cost: Decimal | None) -> None:
        if ok:
            self.summary.ok += 1
        else:
            self.summary.failed += 1
        if cost is None:
            self.summary.unknown_costs += 1
        else:
            self.summary.spent += cost

    def _estimate(self, record: MediaJobRecord) -> Decimal:
        if self.budget is None or not record.never_sent:
            return Decimal(0)  # a job the gateway may have taken costs nothing more
        price = self.prices(record.model) if self.prices is not None else None
        first = media_estimate({"kind": record.kind, "options": record.params}, price)
        average = sum(self._paid, Decimal(0)) / len(self._paid) if self._paid else Decimal(0)
        return max(first, average)

    def _affordable(self, estimate: Decimal) -> bool:
        if self.budget is None or estimate == 0:
            return True
        status = self.budget.status(self._reserved + estimate)
        return status.spent < status.limit and status.spent + status.next_estimate <= status.limit

"""Running a batch's lines concurrently under a budget, each claimed from the journal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from alltoken_agent.agent import DEFAULT_INSTRUCTIONS
from alltoken_agent.batch.media_line import is_media, media_estimate, media_model, run_media_line
from alltoken_agent.batch.turn import LineOutcome, error_fields, error_output, run_line
from alltoken_agent.catalog import ModelPrice, PriceLookup
from alltoken_agent.config import Config
from alltoken_agent.errors import (
    AuthenticationError,
    BudgetExceededError,
    MediaJobError,
    PaymentRequiredError,
    PermissionDeniedError,
)
from alltoken_agent.gateway import Gateway, RequestRecord
from alltoken_agent.ledger import (
    RunningBudget,
    estimate_request_cost,
    record_cost,
    rough_token_count,
)
from alltoken_agent.media import DownloadLimits, Media, PollPolicy
from alltoken_agent.money import CostTally
from alltoken_agent.store.batches import BatchItem, BatchRepository, lease_holder

LEASE_SECONDS = 60.0
"""How long a claim lasts unless renewed; a runner renews every third of it."""

WAIT_SECONDS = 1.0
"""How often a ``batch`` waiting for lines other runners hold looks again."""

FATAL_ERRORS = (AuthenticationError, PermissionDeniedError, PaymentRequiredError)
"""Every later line (or job) would fail the same way: new work stops."""


def stops_new_work(error: BaseException | None) -> BaseException | None:
    """The error in ``FATAL_ERRORS`` that ``error`` is, or that a media job's error wraps."""
    if isinstance(error, MediaJobError):
        error = error.__cause__
    return error if isinstance(error, FATAL_ERRORS) else None


ProgressCallback = Callable[["BatchSummary"], None]
OutputCallback = Callable[[dict[str, Any]], None]


@dataclass
class BatchSummary:
    """Where a batch run stands (updated as lines finish)."""

    ok: int = 0
    failed: int = 0
    spent: Decimal = Decimal(0)
    """Known spend of the lines this runner ran (``unknown_costs`` lines not counted)."""
    unknown_costs: int = 0
    budget_stopped: bool = False
    """New work stopped because the next line would cross the budget."""
    fatal: BaseException | None = None
    """An error that stopped new work (authentication, payment, permission)."""
    simulated: bool = False
    ran: list[int] = field(default_factory=list)
    """Lines this runner ran, in the order they finished."""


def first_request_estimate(request: dict[str, Any], price: ModelPrice | None) -> Decimal:
    """The least a line's first request is estimated to cost.

    Its system and user messages at the input price (0 without a price), as ``chat``'s
    budget check counts them, before tool schemas and the reply.
    """
    messages = [
        {"role": "system", "content": request.get("instructions") or DEFAULT_INSTRUCTIONS},
        {"role": "user", "content": request.get("prompt") or ""},
    ]
    return estimate_request_cost(price, rough_token_count(messages), None)


class LineTally:
    """The request records of one line (by its ``batch_line`` tag) and what they cost."""

    def __init__(self, tag: str, prices: PriceLookup | None, *, key: str = "batch_line") -> None:
        self.tag = tag
        self.key = key
        self.prices = prices
        self.costs = CostTally()
        """The line's requests' costs (gateway's, else estimated from prices)."""

    def observer(self, record: RequestRecord) -> None:
        """``gateway.add_observer``: counts the line's records only."""
        if record.tags.get(self.key) != self.tag:
            return
        cost, _ = record_cost(record, self.prices)
        self.costs.add(cost)

    @property
    def cost(self) -> Decimal | None:
        """What the line cost, when it made requests and every one's cost is known."""
        return self.costs.total if self.costs.count else None


class BatchRunner:
    """Takes lines from the journal and runs them, ``concurrency`` at a time.

    Args:
        repo: The journal.
        gateway: Where the turns go; its observers (the ledger) see every request.
        run_id: Only this run's lines (``batch``), or None for any run's (``worker``).
        concurrency: Lines in flight at once.
        budget_usd: Stop taking lines before the next one would cross this many USD
            (its estimate: the larger of the first request's, as ``chat`` estimates
            it, and the average known cost of the lines finished so far).
        already_spent: Known cost of the run's lines finished before (a resume), which
            counts toward the budget.
        on_output: Called with each line's output as it finishes.
        on_progress: Called with the summary after each line.
        wait_for_others: Keep looking while other runners hold lines of ``run_id``,
            so the run's every line is finished when :meth:`run` returns.
        media_poll: How media lines poll their jobs (default: the media defaults).
        media: Where image and video lines run their jobs: ``Media(gateway, store)``
            on the batch journal's store, so a runner elsewhere that takes a line finds
            its job. None: ``Media(gateway)``, journaled in the default store.
    """

    def __init__(
        self,
        repo: BatchRepository,
        gateway: Gateway,
        *,
        run_id: str | None = None,
        concurrency: int = 4,
        budget_usd: Decimal | None = None,
        already_spent: Decimal = Decimal(0),
        config: Config | None = None,
        prices: PriceLookup | None = None,
        on_output: OutputCallback | None = None,
        on_progress: ProgressCallback | None = None,
        wait_for_others: bool = False,
        media_poll: PollPolicy | None = None,
        media: Media | None = None,
    ) -> None:
        self.repo = repo
        self.gateway = gateway
        self.media = media or Media(gateway)
        self.run_id = run_id
        self.concurrency = max(1, concurrency)
        self.config = config
        self.prices = prices
        self.on_output = on_output
        self.on_progress = on_progress
        self.wait_for_others = wait_for_others
        self.media_poll = media_poll
        self.media_limits = None
        if config is not None:
            self.media_limits = DownloadLimits.from_megabytes(
                config.media.max_image_mb, config.media.max_video_mb
            )
        self.holder = lease_holder()
        self.summary = BatchSummary()
        self._held: dict[tuple[str, int], BatchItem] = {}
        self._reserved = Decimal(0)
        self._finished_costs: dict[bool, list[Decimal]] = {False: [], True: []}
        """Known costs of finished lines, agent turns (False) and media jobs (True) apart."""
        self._stop = False
        self._drained = False
        self._in_flight = 0
        self._calibrated = asyncio.Event()
        self.budget: RunningBudget | None = None
        if budget_usd is not None:
            self.budget = RunningBudget(budget_usd, prices=prices, label="batch budget")
            self.budget.add(already_spent)
            self.budget.count_on(gateway)

    async def run(self) -> BatchSummary:
        """Run lines until none is left to take (or new work stops); return the summary."""
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while True:
                self._drained = False
                workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for task in workers:
                        task.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
                if self._stop or not self.wait_for_others or not await self._others_hold():
                    break
                await asyncio.sleep(WAIT_SECONDS)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if self.budget is not None:
                self.gateway.remove_observer(self.budget.observer)
        self.summary.simulated = self.gateway.simulated
        return self.summary

    async def _others_hold(self) -> bool:
        items = await asyncio.to_thread(self.repo.items, self.run_id or "")
        return any(item.status == "running" for item in items)

    async def _worker(self) -> None:
        while not self._stop:
            if self.budget is not None and self._in_flight and not self._calibrated.is_set():
                # Under a budget the first line runs alone: until one line's cost is
                # known, N lines started at once could cross it together.
                await self._calibrated.wait()
                continue
            self._in_flight += 1
            try:
                await self._take_one()
            finally:
                self._in_flight -= 1
                self._calibrated.set()
            if self._drained:
                return

    async def _take_one(self) -> None:
        item = await asyncio.to_thread(
            self.repo.claim, self.holder, LEASE_SECONDS, run_id=self.run_id
        )
        if item is None:
            self._drained = True
            return
        key = (item.run_id, item.line)
        self._held[key] = item
        try:
            await self._run_item(item)
        except BaseException:
            # Cancelled (Ctrl-C, SIGTERM) or broken: the line goes back to the queue
            # at once, so a resume runs it without waiting for the lease to end.
            with contextlib.suppress(Exception):
                self.repo.release(item, self.holder)
            raise
        finally:
            self._held.pop(key, None)

    async def _run_item(self, item: BatchItem) -> None:
        request = item.request or {}
        estimate = self._estimate(request)
        if self._stop or not self._affordable(estimate):
            if not self._stop:  # else another line stopped the run first, and said why
                self.summary.budget_stopped = self.budget is not None
            self._stop = True
            await asyncio.to_thread(self.repo.release, item, self.holder)
            return
        self._reserved += estimate
        media = is_media(request)
        # What the line's requests cost, as the budget counts them (the gateway's cost,
        # else estimated from prices): the next lines' estimate averages these.
        tag = f"{item.run_id}:{item.line}"
        tally = LineTally(tag, self.prices)
        self.gateway.add_observer(tally.observer)
        try:
            outcome = await self._outcome(item, request, tag, media)
        finally:
            self._reserved -= estimate
            self.gateway.remove_observer(tally.observer)
        if outcome is None:
            return  # another runner holds the line now (our lease ran out)
        if media:
            outcome = _with_cost(outcome, tally.cost)
        if tally.costs.known > 0:
            self._finished_costs[media].append(tally.costs.known)
        elif isinstance(outcome.error, BudgetExceededError) and not tally.costs.unknown:
            # The budget stopped the line's first request, so nothing was paid (or only
            # what a free request cost): it goes back to the queue, for a larger budget.
            self.summary.budget_stopped = True
            self._stop = True
            await asyncio.to_thread(self.repo.release, item, self.holder)
            return
        finishing = asyncio.ensure_future(
            asyncio.to_thread(
                self.repo.finish,
                item,
                self.holder,
                output=outcome.output,
                cost=outcome.cost,
                ok=outcome.ok,
            )
        )
        try:
            await asyncio.shield(finishing)
        except asyncio.CancelledError:
            # A stop (SIGTERM) while the line is being saved: the write goes on in its
            # thread regardless, so once the store holds the line as done, the summary
            # counts it and its cost too, before the stop goes on.
            await asyncio.wait({finishing})
            if not finishing.cancelled() and finishing.exception() is None:
                self._count(item, outcome)
            raise
        self._count(item, outcome)

    async def _outcome(
        self, item: BatchItem, request: dict[str, Any], tag: str, media: bool
    ) -> LineOutcome | None:
        tags = {"batch": item.run_id, "batch_line": tag}
        try:
            if media:
                return await run_media_line(
                    self.media,
                    item,
                    attach=lambda job_id: self._attach(item, job_id),
                    poll=self.media_poll,
                    limits=self.media_limits,
                    tags=tags,
                )
            return await run_line(
                self.gateway,
                item.line,
                request,
                config=self.config,
                prices=self.prices,
                budgets=[self.budget] if self.budget is not None else [],
                tags=tags,
            )
        except Exception as error:  # a bug in a tool or hook: this line fails, not the run
            return LineOutcome(
                error_output(item.line, request.get("id"), error_fields(error)),
                None,
                ok=False,
                error=error,
            )

    async def _attach(self, item: BatchItem, job_id: str) -> bool:
        held = await asyncio.to_thread(self.repo.attach_job, item, self.holder, job_id)
        if held is not None:
            self._held[(item.run_id, item.line)] = held
        return held is not None

    def _count(self, item: BatchItem, outcome: LineOutcome) -> None:
        summary = self.summary
        if outcome.ok:
            summary.ok += 1
        else:
            summary.failed += 1
        if outcome.cost is None:
            summary.unknown_costs += 1
        else:
            summary.spent += outcome.cost
        summary.ran.append(item.line)
        fatal = stops_new_work(outcome.error)
        if fatal is not None and summary.fatal is None:
            summary.fatal = fatal
            self._stop = True
        if self.on_output is not None:
            self.on_output(outcome.output)
        if self.on_progress is not None:
            self.on_progress(summary)

    def _estimate(self, request: dict[str, Any]) -> Decimal:
        if self.budget is None:
            return Decimal(0)
        media = is_media(request)
        model = media_model(request) if media else request.get("model") or self.gateway.model
        price = self.prices(model) if self.prices is not None and model else None
        if media:
            first = media_estimate(request, price)
        else:
            first = first_request_estimate(request, price)
        costs = self._finished_costs[media]
        average = sum(costs, Decimal(0)) / len(costs) if costs else Decimal(0)
        return max(first, average)

    def _affordable(self, estimate: Decimal) -> bool:
        if self.budget is None:
            return True
        status = self.budget.status(self._reserved + estimate)
        return status.spent < status.limit and status.spent + status.next_estimate <= status.limit

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            held = list(self._held.values())
            if held:
                with contextlib.suppress(Exception):  # the next beat tries again
                    await asyncio.to_thread(self.repo.renew, held, self.holder, LEASE_SECONDS)


def _with_cost(outcome: LineOutcome, cost: Decimal | None) -> LineOutcome:
    """A media line's outcome with the cost its request records add up to."""
    output = {**outcome.output, "cost": None if cost is None else str(cost)}
    return LineOutcome(output, cost, ok=outcome.ok, error=outcome.error)

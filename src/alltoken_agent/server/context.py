"""The core objects one server works with, and the few questions routes ask of them."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Request

from alltoken_agent import Config, Gateway, money
from alltoken_agent.gateway import RequestRecord
from alltoken_agent.ledger import Budget, BudgetStatus, Ledger, record_cost
from alltoken_agent.server.auth import Caller, Keyring
from alltoken_agent.server.leases import session_not_found as session_not_found
from alltoken_agent.server.limits import RateLimiter
from alltoken_agent.server.media import MediaJobs
from alltoken_agent.server.runs import RunRegistry
from alltoken_agent.server.settings import ServerOptions
from alltoken_agent.server.storage import RUN_TAG, StoreCalls
from alltoken_agent.store import SessionRecord, Store


class CostTally:
    """What each run in flight has cost so far, from the gateway's request records."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._runs: dict[str, money.CostTally] = {}

    def observer(self, record: RequestRecord) -> None:
        """``gateway.add_observer``: count records tagged with a run; never raises."""
        run_id = record.tags.get(RUN_TAG)
        if run_id is None:
            return
        cost, _ = record_cost(record, self._ledger.prices)
        with self._lock:
            self._runs.setdefault(run_id, money.CostTally()).add(cost)

    def pop(self, run_id: str) -> Decimal | None:
        """The run's cost, forgetting it: 0 with no request, None if any cost is unknown."""
        with self._lock:
            tally = self._runs.pop(run_id, None)
        return Decimal(0) if tally is None else tally.total


@dataclass
class ServerContext:
    """Everything routes need: the core objects and the server's own state."""

    gateway: Gateway
    store: Store
    ledger: Ledger
    config: Config
    options: ServerOptions
    keyring: Keyring
    limiter: RateLimiter
    runs: RunRegistry
    tally: CostTally
    calls: StoreCalls
    media: MediaJobs
    creating: dict[str, asyncio.Lock] = field(default_factory=dict)
    """One lock per key around counting and creating its sessions, so concurrent creates
    cannot pass the quota together (per process: replicas may still overshoot a little)."""

    def creation_lock(self, owner: str) -> asyncio.Lock:
        """The lock ``owner``'s session creations take turns on."""
        return self.creating.setdefault(owner, asyncio.Lock())

    def redact(self, text: str) -> str:
        """Mask the gateway key (and key-shaped tokens) in ``text``."""
        return self.gateway.redact(text)

    def budget(self, caller: Caller) -> Budget | None:
        """The caller's daily budget, when one is configured."""
        limit = self.options.daily_budget_usd
        if limit is None:
            return None
        return Budget.daily(self.ledger, limit, owner=caller.owner)

    async def budget_status(self, caller: Caller) -> BudgetStatus | None:
        """Where the caller's budget stands now (None without one)."""
        budget = self.budget(caller)
        if budget is None:
            return None
        return await self.calls.read(budget.status)

    async def budget_remaining(self, caller: Caller) -> Decimal | None:
        """What is left of the caller's daily budget (None without a budget)."""
        status = await self.budget_status(caller)
        return None if status is None else status.remaining

    async def check_budget(self, caller: Caller) -> BudgetStatus | None:
        """The budget's status, or 402 when it is used up."""
        budget = self.budget(caller)
        if budget is None:
            return None
        return await self.calls.read(budget.check)

    async def session(self, session_id: str, caller: Caller) -> SessionRecord:
        """The caller's session, or 404: another key's session does not exist for this one."""
        record = await self.calls.read(
            self.store.sessions.get_session, session_id, owner=caller.owner
        )
        if record is None:
            raise session_not_found(session_id)
        return record


async def get_context(request: Request) -> ServerContext:
    """The dependency routes take to reach the server's context (on the loop, no thread)."""
    context = request.app.state.server
    assert isinstance(context, ServerContext)
    return context


ContextDep = Annotated[ServerContext, Depends(get_context)]

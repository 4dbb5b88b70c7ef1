"""A budget over an in-memory running total: one agent's or one run's spend.

Unlike the ledger's budgets it needs no store: it counts the request records it is
fed (or observes on a gateway), with the ledger's cost rules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from alltoken_agent.catalog import PriceLookup
from alltoken_agent.gateway import RequestRecord
from alltoken_agent.ledger.budgets import Budget
from alltoken_agent.ledger.costs import ZERO, record_cost, usable_amount

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway

logger = logging.getLogger("alltoken_agent")


class RunningBudget(Budget):
    """A limit on an in-memory running total: one agent's or one run's spend.

    Feed it costs with :meth:`add`, or whole request records with :meth:`add_record`
    (the same cost rules as the ledger), or let it count a gateway's (:meth:`count_on`);
    ``match`` then limits it to records carrying those request tags.

    Args:
        limit_usd: The limit; more than 0.
        warn_at: Fraction of the limit from which ``status.warn`` is set.
        label: Names the budget in messages.
        prices: Prices for estimating costs the gateway did not report.
        match: Request tags a record must carry to count (e.g. ``{"agent": "a1"}``).
    """

    def __init__(
        self,
        limit_usd: Decimal | int | str,
        *,
        warn_at: float = 0.8,
        label: str = "agent budget",
        prices: PriceLookup | None = None,
        match: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            limit_usd,
            self._total_now,
            warn_at=warn_at,
            label=label,
            hint="raise the agent's budget, or start a new run",
        )
        self.prices = prices
        self.match = dict(match or {})
        self._lock = threading.Lock()
        self._total = ZERO
        self._unknown = 0
        self._simulated = False
        self._book: Callable[[], bool] | None = None
        """The counted gateway's ``simulated``, asked until a record says."""

    @property
    def total(self) -> Decimal:
        """USD counted so far."""
        return self._total_now()

    @property
    def unknown_requests(self) -> int:
        """Requests added whose cost was unknown (counted as 0)."""
        with self._lock:
            return self._unknown

    def add(self, amount: Decimal | None) -> None:
        """Count one request's cost; None (unknown) counts as 0 and is tallied apart.

        So does a negative or non-finite amount: it must never lower the spend.
        """
        with self._lock:
            if amount is None or not usable_amount(amount):
                self._unknown += 1
            else:
                self._total += amount

    @property
    def simulated(self) -> bool:
        """Whether it counts the simulator's made-up costs (as its records or its gateway say)."""
        return self._simulated or (self._book is not None and self._book())

    def count_on(self, gateway: Gateway) -> None:
        """Count ``gateway``'s matching records (registered once, however often called).

        The gateway also says which book it counts before any record does: an offline
        run's budget speaks of simulated spend from its first check, not after a reply.
        """
        gateway.remove_observer(self.observer)
        gateway.add_observer(self.observer)
        self._book = lambda: gateway.simulated

    def add_record(self, record: RequestRecord) -> Decimal | None:
        """Count one request record's cost (gateway, else estimated); return it."""
        cost, _ = record_cost(record, self.prices)
        if record.simulated:
            # One run talks to one gateway, so its records are all of one book.
            self._simulated = True
        self.add(cost)
        return cost

    def observer(self, record: RequestRecord) -> None:
        """``gateway.add_observer(budget.observer)``: counts matching records; never raises."""
        try:
            if all(record.tags.get(key) == value for key, value in self.match.items()):
                self.add_record(record)
        except Exception:
            logger.exception("a running budget could not count a request")

    def _total_now(self) -> Decimal:
        with self._lock:
            return self._total

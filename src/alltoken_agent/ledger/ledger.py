"""The :class:`Ledger`: records every gateway request in the store, and sums what was spent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from alltoken_agent.errors import AllTokenAgentError, UserError
from alltoken_agent.ledger.costs import usable_amount
from alltoken_agent.ledger.periods import start_of_utc_day
from alltoken_agent.ledger.rows import row_fields
from alltoken_agent.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository, UsageRow
from alltoken_agent.store.usage_sums import UsageSums, merged, sum_usage

if TYPE_CHECKING:  # types only: `usage` reads the store and needs no gateway (httpx, aiohttp)
    from alltoken_agent.catalog import PriceLookup
    from alltoken_agent.gateway import RequestRecord

logger = logging.getLogger("alltoken_agent")

ReportBy = Literal["model", "day", "session"]
REPORT_KEYS: tuple[ReportBy, ...] = ("model", "day", "session")


@dataclass(frozen=True)
class Spend:
    """What a set of requests cost, as far as it is known."""

    total: Decimal
    """USD summed over the requests whose cost is known."""
    known_requests: int
    unknown_requests: int
    """Requests whose cost is unknown, left out of ``total``."""

    @property
    def requests(self) -> int:
        """Every request counted."""
        return self.known_requests + self.unknown_requests


@dataclass(frozen=True)
class ReportRow:
    """One line of a usage report: the requests sharing a model, a UTC day or a session."""

    key: str | None
    """The model, the day (``2026-11-01``) or the session; None where the rows had none."""
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    """USD over the requests whose cost is known."""
    unknown_cost_requests: int
    unknown_usage_requests: int = 0
    """Requests whose token counts are unknown, left out of the token sums."""

    @property
    def cost_known(self) -> bool:
        """False when every request of the row has an unknown cost (``cost`` is then no sum)."""
        return self.requests == 0 or self.unknown_cost_requests < self.requests

    @property
    def usage_known(self) -> bool:
        """False when every request of the row has unknown tokens (the sums are then no sums)."""
        return self.requests == 0 or self.unknown_usage_requests < self.requests

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the cost as a decimal string (see ``cost_known``)."""
        return {
            "key": self.key,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": format(self.cost, "f"),
            "unknown_cost_requests": self.unknown_cost_requests,
            "unknown_usage_requests": self.unknown_usage_requests,
        }


@dataclass(frozen=True)
class UsageReport:
    """Usage grouped by model, day or session, with the totals."""

    by: ReportBy
    rows: tuple[ReportRow, ...]
    totals: ReportRow
    """Every row together; its key is None."""
    since: datetime | None = None
    until: datetime | None = None
    currency: str = "USD"
    simulated: bool = False
    """A report on offline runs: the costs are the simulator's, not money."""

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document."""
        return {
            "by": self.by,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "currency": self.currency,
            "simulated": self.simulated,
            "rows": [row.to_dict() for row in self.rows],
            "totals": self.totals.to_dict(),
        }


def _report_row(sums: UsageSums) -> ReportRow:
    """A report line from the database's sums; costs it could not sum are checked here."""
    cost, unknown = sums.cost, sums.requests - sums.plain_costs
    for amount in sums.other_costs:
        if usable_amount(amount):
            cost += amount
            unknown -= 1
    return ReportRow(
        sums.key,
        sums.requests,
        sums.prompt_tokens,
        sums.completion_tokens,
        cost,
        unknown,
        sums.unknown_usage,
    )


class Ledger:
    """Records each gateway request in the store's ``usage`` table and answers what it cost.

    Example:
        ```python
        ledger = Ledger(store, prices=price_lookup(catalog_prices, config.prices))
        gateway.add_observer(ledger.observer)
        with request_tags(session="work"):
            await gateway.chat(messages)
        print(ledger.today_spent().total, ledger.spent(session="work"))
        ```

    Costs follow :mod:`alltoken_agent.ledger.costs`: the gateway's figure, else an
    estimate from ``prices``, else unknown (NULL). Writes are synchronous (one short
    transaction per request, on the caller's thread), so a budget check made right
    after a request already sees it.

    Ownership follows the store: ``owner=None`` means local use (rows without an
    owner), not every owner; ``session=None`` means every session.

    Offline runs share the store with real ones, so a ledger reads one of two books:
    real requests, or (``simulated=True``) those made against the offline simulator,
    whose costs are made up. Each record goes to the book it says it belongs to; the
    queries, and so budgets and reports, read only this ledger's book.

    Args:
        store: The open store to write to; the ledger does not close it.
        prices: Model prices for estimates; None records only gateway-reported costs.
            May be replaced later (``ledger.prices = ...``) once a catalog is loaded.
        simulated: Read the simulator's book instead of the real one. A callable is asked
            at each query: ``lambda: gateway.simulated`` follows a gateway that learns
            from its first reply that a simulator answers it (reached by base URL).
    """

    def __init__(
        self,
        store: Store,
        prices: PriceLookup | None = None,
        *,
        simulated: bool | Callable[[], bool] = False,
    ) -> None:
        self.store = store
        self.prices = prices
        self._book = simulated
        self._usage = UsageRepository.of(store)

    @property
    def simulated(self) -> bool:
        """Whether the queries read the simulator's book now."""
        return bool(self._book()) if callable(self._book) else self._book

    @simulated.setter
    def simulated(self, value: bool | Callable[[], bool]) -> None:
        self._book = value

    def __repr__(self) -> str:
        book = ", simulated=True" if self.simulated else ""
        return f"Ledger(store={self.store!r}{book})"

    # -- recording -------------------------------------------------------------

    def observer(self, record: RequestRecord) -> None:
        """Record ``record``, for ``gateway.add_observer(ledger.observer)``; never raises.

        A database another process keeps locked does not lose the row: it waits in
        the store's spool (see :meth:`record`). Any other failure to write (an
        unreachable database) is logged and the request goes on: losing one ledger
        row is better than failing a paid request.
        """
        try:
            self.record(record)
        except AllTokenAgentError as error:
            logger.warning("could not record the usage of a %s request: %s", record.kind, error)
        except Exception:
            logger.exception("could not record the usage of a %s request", record.kind)

    def record(self, record: RequestRecord) -> UsageRow:
        """Store one request and return its row (with cost and cost source).

        If another process keeps the database locked past the store's wait, the row
        goes to the store's spool instead (its ``id`` is then None) and is stored
        when a store is next opened on the database (:mod:`alltoken_agent.store.spool`).

        Raises:
            ConfigError: The database could not be written, nor the spool.
            UserError: The store is closed.
        """
        return self._usage.add(self.to_row(record))

    def to_row(self, record: RequestRecord) -> UsageRow:
        """The ledger row ``record`` makes, not stored."""
        return UsageRow(**row_fields(record, self.prices))

    # -- queries ---------------------------------------------------------------

    def spent(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        session: str | None = None,
        owner: str | None = None,
    ) -> Spend:
        """What the matching requests cost (``since`` inclusive, ``until`` exclusive)."""
        query = self._query(since=since, until=until, session=session, owner=owner)
        total = _report_row(merged(sum_usage(self._usage, query)))
        known = total.requests - total.unknown_cost_requests
        return Spend(total.cost, known, total.unknown_cost_requests)

    def today_spent(self, owner: str | None = None) -> Spend:
        """What was spent since midnight UTC."""
        return self.spent(since=start_of_utc_day(), owner=owner)

    def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        session: str | None = None,
        owner: str | None = None,
        model: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[UsageRow]:
        """The matching requests, oldest first unless ``newest_first``, at most ``limit``."""
        query = self._query(since=since, until=until, session=session, owner=owner, model=model)
        return self._usage.rows(query, newest_first=newest_first, limit=limit)

    def report(
        self,
        since: datetime | None = None,
        by: ReportBy = "model",
        *,
        until: datetime | None = None,
        session: str | None = None,
        owner: str | None = None,
    ) -> UsageReport:
        """Usage grouped ``by`` model, UTC day or session, with totals.

        Days come in date order; models and sessions by cost, most expensive first.

        Raises:
            UserError: ``by`` is not one of ``model``, ``day``, ``session``.
        """
        if by not in REPORT_KEYS:
            raise UserError(f"cannot group usage by {by!r}; use one of {', '.join(REPORT_KEYS)}")
        query = self._query(since=since, until=until, session=session, owner=owner)
        groups = sum_usage(self._usage, query, by)
        rows = [_report_row(sums) for sums in groups]
        totals = _report_row(merged(groups))
        if by == "day":
            rows.sort(key=lambda row: row.key or "")
        else:
            rows.sort(key=lambda row: (-row.cost, -row.requests, row.key or ""))
        return UsageReport(
            by,
            tuple(rows),
            totals,
            since=since,
            until=until,
            simulated=self.simulated,
        )

    def _query(
        self,
        *,
        since: datetime | None,
        until: datetime | None,
        session: str | None,
        owner: str | None,
        model: str | None = None,
    ) -> UsageQuery:
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                raise UserError(f"{name} must be an aware datetime (give it a timezone), not naive")
        return UsageQuery(
            since=since,
            until=until,
            session=session,
            owner=owner,
            model=model,
            simulated=self.simulated,
        )

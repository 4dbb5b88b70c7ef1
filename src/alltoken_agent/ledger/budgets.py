"""Spending limits checked before a request is sent.

A :class:`Budget` compares what was spent (any callable: the ledger's spend today, a
session's spend, a running total) plus the estimate of the next request with its
limit. :meth:`Budget.check` raises :class:`~alltoken_agent.errors.BudgetExceededError`
instead of letting a request cross the limit; once the limit is reached no request is
let through, not even one whose price is unknown (estimated at 0).

Requests whose cost is unknown count as zero: a budget limits what is known to be spent.

A budget counts one book of the ledger: real spend, or the simulator's made-up costs
(``Ledger(simulated=True)``). Simulated spend never blocks a real request, and the
messages and warnings of a budget over simulated spend say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import BudgetExceededError, UserError
from alltoken_agent.ledger.costs import ZERO, format_usd
from alltoken_agent.ledger.periods import start_of_utc_day
from alltoken_agent.paths import app_dirs

if TYPE_CHECKING:  # the ledger needs the store (SQLAlchemy); a running budget does not
    from alltoken_agent.config import BudgetSettings
    from alltoken_agent.ledger.ledger import Ledger, Spend

SpendSource = Callable[[], "Decimal | Spend"]
"""Gives what was spent so far: a ``Decimal`` of USD, or a ledger ``Spend``."""


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class BudgetStatus(FrozenValue):
    """Where a budget stands before the next request."""

    label: str
    """What the budget limits (``daily budget``, ``budget of session 'work'``)."""
    limit: Decimal
    spent: Decimal
    next_estimate: Decimal
    remaining: Decimal
    """``limit - spent``; never below 0."""
    fraction_used: float
    """``spent / limit`` (may pass 1.0 when a request's real cost beat its estimate)."""
    warn: bool
    """Whether ``spent + next_estimate`` reaches the warning threshold."""
    simulated: bool = False
    """The budget counts simulated spend (the simulator's book); ``label`` says so too."""

    def __init__(
        self,
        label: str,
        limit: Decimal,
        spent: Decimal,
        next_estimate: Decimal,
        remaining: Decimal,
        fraction_used: float,
        warn: bool,
        simulated: bool = False,
    ) -> None:
        fields = self.__dict__
        fields["label"] = label
        fields["limit"] = limit
        fields["spent"] = spent
        fields["next_estimate"] = next_estimate
        fields["remaining"] = remaining
        fields["fraction_used"] = fraction_used
        fields["warn"] = warn
        fields["simulated"] = simulated

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; money as decimal strings."""
        return {
            "label": self.label,
            "simulated": self.simulated,
            "limit": format(self.limit, "f"),
            "spent": format(self.spent, "f"),
            "next_estimate": format(self.next_estimate, "f"),
            "remaining": format(self.remaining, "f"),
            "fraction_used": self.fraction_used,
            "warn": self.warn,
        }


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class LedgerSpend(FrozenValue):
    """A query spec for a budget: what the ledger says was spent, as a ``SpendSource``.

    ``today=True`` counts from midnight UTC (a daily budget); ``since`` from a fixed time.
    ``session`` None means every session; ``owner`` None means local use. ``book``, when
    given, picks the book at each check (``lambda: gateway.simulated``: a gateway learns
    from its first reply that the simulator answers); else the ledger's own book counts.
    """

    ledger: Ledger
    session: str | None = None
    owner: str | None = None
    since: datetime | None = None
    today: bool = False
    book: Callable[[], bool] | None = None

    def __init__(
        self,
        ledger: Ledger,
        session: str | None = None,
        owner: str | None = None,
        since: datetime | None = None,
        today: bool = False,
        book: Callable[[], bool] | None = None,
    ) -> None:
        fields = self.__dict__
        fields["ledger"] = ledger
        fields["session"] = session
        fields["owner"] = owner
        fields["since"] = since
        fields["today"] = today
        fields["book"] = book

    @property
    def simulated(self) -> bool:
        """Whether the simulator's book is counted now."""
        return self.book() if self.book is not None else self.ledger.simulated

    def __call__(self) -> Spend:
        """The spend now, in the book counted now."""
        since = start_of_utc_day() if self.today else self.since
        ledger = self.ledger
        simulated = self.simulated
        if simulated != ledger.simulated:
            from alltoken_agent.ledger.ledger import Ledger  # loaded: ``self.ledger`` is one

            ledger = Ledger(ledger.store, ledger.prices, simulated=simulated)
        return ledger.spent(since=since, session=self.session, owner=self.owner)


class Budget:
    """A spending limit in USD over what ``spent`` reports.

    Example:
        ```python
        budget = Budget(Decimal("2.00"), LedgerSpend(ledger, session="work"))
        status = budget.check(estimate_request_cost(price, prompt_tokens, max_tokens))
        if status.warn:
            ...  # tell the user: 80 % used
        ```

    Args:
        limit_usd: The limit; more than 0.
        spent: What was spent so far (see ``SpendSource``), asked on every check.
        warn_at: Fraction of the limit from which ``status.warn`` is set.
        label: Names the budget in messages.
        hint: How to raise the limit, for the error message.

    Raises:
        UserError: The limit is not a positive amount or ``warn_at`` not in (0, 1].
    """

    def __init__(
        self,
        limit_usd: Decimal | int | str,
        spent: SpendSource,
        *,
        warn_at: float = 0.8,
        label: str = "budget",
        hint: str = "raise the limit to go on",
    ) -> None:
        self.limit = _money(limit_usd, "a budget limit")
        if self.limit <= 0:
            raise UserError(f"a budget limit must be more than 0, not {limit_usd!r}")
        if not 0 < warn_at <= 1:
            raise UserError(f"warn_at must be a fraction in (0, 1], not {warn_at!r}")
        self.warn_at = warn_at
        self.label = label
        self.hint = hint
        self._spent = spent

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, limit={format(self.limit, 'f')})"

    @classmethod
    def daily(
        cls,
        ledger: Ledger,
        limit_usd: Decimal | int | str,
        *,
        owner: str | None = None,
        warn_at: float = 0.8,
        book: Callable[[], bool] | None = None,
    ) -> Budget:
        """A limit on what the ledger shows spent since midnight UTC (``[budget] daily_usd``).

        ``book`` picks real or simulated spend at each check (see ``LedgerSpend``).
        """
        return cls(
            limit_usd,
            LedgerSpend(ledger, owner=owner, today=True, book=book),
            warn_at=warn_at,
            label="daily budget",
            hint=f"raise [budget] daily_usd in {app_dirs().config_file}, or wait for 00:00 UTC",
        )

    @classmethod
    def for_session(
        cls,
        ledger: Ledger,
        session: str,
        limit_usd: Decimal | int | str,
        *,
        owner: str | None = None,
        warn_at: float = 0.8,
        book: Callable[[], bool] | None = None,
    ) -> Budget:
        """A limit on everything the ledger shows spent under the ``session`` request tag."""
        return cls(
            limit_usd,
            LedgerSpend(ledger, session=session, owner=owner, book=book),
            warn_at=warn_at,
            label=f"budget of session {session!r}",
            hint="raise the session's limit, or start a new session",
        )

    def spent(self) -> Decimal:
        """What was spent so far."""
        value = self._spent()
        if isinstance(value, Decimal):
            return _money(value, "spent")
        from alltoken_agent.ledger.ledger import Spend  # only a ledger's spend is not a Decimal

        return value.total if isinstance(value, Spend) else _money(value, "spent")

    @property
    def simulated(self) -> bool:
        """Whether this budget counts simulated spend (a ``LedgerSpend`` on that book)."""
        return isinstance(self._spent, LedgerSpend) and self._spent.simulated

    def status(self, next_estimate: Decimal = ZERO) -> BudgetStatus:
        """Where the budget stands if a request estimated at ``next_estimate`` is sent."""
        simulated = self.simulated
        spent = self.spent()
        estimate = max(next_estimate, ZERO)
        return BudgetStatus(
            label=f"{self.label} (simulated spend)" if simulated else self.label,
            limit=self.limit,
            spent=spent,
            next_estimate=estimate,
            remaining=max(self.limit - spent, ZERO),
            fraction_used=float(spent / self.limit),
            warn=spent + estimate >= self.limit * Decimal(str(self.warn_at)),
            simulated=simulated,
        )

    def check(self, next_estimate: Decimal = ZERO) -> BudgetStatus:
        """Return the status, or raise if the next request would cross the limit.

        Raises:
            BudgetExceededError: The limit is reached, or ``spent + next_estimate``
                would pass it. The message names the limit, the spend and the way out.
        """
        status = self.status(next_estimate)
        if status.spent >= status.limit or status.spent + status.next_estimate > status.limit:
            raise BudgetExceededError(self._message(status))
        return status

    def _message(self, status: BudgetStatus) -> str:
        book = (
            "simulated spend: the simulator's made-up costs, never real money"
            if status.simulated
            else "real spend"
        )
        spent = f"{format_usd(status.spent)} spent so far ({book})"
        if status.next_estimate > 0 and status.spent < status.limit:
            spent += (
                f" and the next request is estimated at up to {format_usd(status.next_estimate)}"
            )
        return (
            f"{status.label} of {format_usd(status.limit)} would be exceeded: {spent}; "
            f"the request was not sent. To go on, {self.hint}"
        )


class Budgets:
    """Several budgets checked together (the daily one from the config, a session's, ...)."""

    def __init__(self, budgets: Iterable[Budget] = ()) -> None:
        self._budgets = list(budgets)

    @classmethod
    def from_config(
        cls,
        settings: BudgetSettings,
        ledger: Ledger,
        *,
        owner: str | None = None,
        book: Callable[[], bool] | None = None,
    ) -> Budgets:
        """The budgets the ``[budget]`` config section asks for (none when it sets no limit).

        ``book`` picks real or simulated spend at each check (see ``LedgerSpend``).
        """
        if settings.daily_usd is None:
            return cls()
        daily = Budget.daily(
            ledger, settings.daily_usd, owner=owner, warn_at=settings.warn_at, book=book
        )
        return cls([daily])

    def add(self, budget: Budget) -> None:
        """Check ``budget`` too."""
        self._budgets.append(budget)

    def status(self, next_estimate: Decimal = ZERO) -> list[BudgetStatus]:
        """Every budget's status, without raising."""
        return [budget.status(next_estimate) for budget in self._budgets]

    def check(self, next_estimate: Decimal = ZERO) -> list[BudgetStatus]:
        """Check every budget; the first that would be crossed raises.

        Raises:
            BudgetExceededError: A budget would be crossed.
        """
        return [budget.check(next_estimate) for budget in self._budgets]

    def __iter__(self) -> Iterator[Budget]:
        return iter(list(self._budgets))

    def __len__(self) -> int:
        return len(self._budgets)

    def __repr__(self) -> str:
        return f"Budgets({self._budgets!r})"


def _money(value: object, what: str) -> Decimal:
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise UserError(f"{what} must be a decimal amount of USD, not {value!r}") from None
    else:
        raise UserError(f"{what} must be a Decimal, int or decimal string, not {value!r}")
    if not amount.is_finite():
        raise UserError(f"{what} must be a finite amount, not {value!r}")
    return amount

"""Budget checks before each model request of a turn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alltoken_agent.agent.context import request_tokens
from alltoken_agent.agent.events import AgentEvent, BudgetWarningEvent
from alltoken_agent.catalog.prices import PriceLookup
from alltoken_agent.ledger import Budget, estimate_request_cost


class BudgetGuard:
    """Checks every budget before a request; warns once per budget per turn.

    A request whose estimate (prompt and tool schemas at the input price plus
    ``max_tokens`` at the output price) would cross a limit is not sent: ``Budget.check`` raises
    ``BudgetExceededError``. Without prices the estimate is 0, so only spend
    already made counts.
    """

    def __init__(self, budgets: Sequence[Budget], prices: PriceLookup | None) -> None:
        self._budgets = budgets
        self._prices = prices
        self._warned: set[str] = set()

    def check(
        self, model: str, messages: list[dict[str, Any]], fields: dict[str, Any]
    ) -> list[AgentEvent]:
        """Raise if a budget would be crossed; return warning events to emit."""
        if not self._budgets:
            return []
        price = self._prices(model) if self._prices is not None else None
        # Tool schemas are prompt tokens too, and a turn with many tools sends plenty.
        estimate = estimate_request_cost(
            price, request_tokens(messages, fields), fields.get("max_tokens")
        )
        events: list[AgentEvent] = []
        for budget in self._budgets:
            status = budget.check(estimate)
            if status.warn and status.label not in self._warned:
                self._warned.add(status.label)
                events.append(
                    BudgetWarningEvent(
                        label=status.label,
                        limit=status.limit,
                        spent=status.spent,
                        fraction_used=status.fraction_used,
                    )
                )
        return events

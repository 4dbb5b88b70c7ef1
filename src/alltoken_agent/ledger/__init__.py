"""Usage and cost records of every gateway request, budgets, and reports.

```python
from alltoken_agent.ledger import Budgets, Ledger

ledger = Ledger(store, prices=lookup)
gateway.add_observer(ledger.observer)
budgets = Budgets.from_config(config.budget, ledger)
budgets.check(estimate_request_cost(lookup(model), prompt_tokens, max_tokens))
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alltoken_agent._lazy_exports import lazy_exports

# Names load on first use (PEP 562): the agent counts tokens and checks budgets with
# ``costs``, ``tokens`` and ``budgets``, and must not pull in the store (SQLAlchemy)
# until something records or sums usage, so ``chat`` sends its request first. Type
# checkers read this block; ``_LAZY`` says the same for the interpreter.
if TYPE_CHECKING:
    from alltoken_agent.ledger.budgets import (
        Budget,
        Budgets,
        BudgetStatus,
        LedgerSpend,
        SpendSource,
    )
    from alltoken_agent.ledger.costs import estimate_request_cost, format_usd, record_cost
    from alltoken_agent.ledger.deferred import DeferredLedger
    from alltoken_agent.ledger.ledger import (
        REPORT_KEYS,
        Ledger,
        ReportBy,
        ReportRow,
        Spend,
        UsageReport,
    )
    from alltoken_agent.ledger.periods import parse_since as parse_since
    from alltoken_agent.ledger.periods import start_of_utc_day as start_of_utc_day
    from alltoken_agent.ledger.running_budget import RunningBudget
    from alltoken_agent.ledger.tokens import rough_token_count
    from alltoken_agent.ledger.usage_file import (
        USAGE_FILE_VERSION,
        usage_report,
        write_usage_report,
    )
    from alltoken_agent.store.usage import CostSource, UsageRow

__all__ = [
    "REPORT_KEYS",
    "USAGE_FILE_VERSION",
    "Budget",
    "BudgetStatus",
    "Budgets",
    "CostSource",
    "DeferredLedger",
    "Ledger",
    "LedgerSpend",
    "ReportBy",
    "ReportRow",
    "RunningBudget",
    "Spend",
    "SpendSource",
    "UsageReport",
    "UsageRow",
    "estimate_request_cost",
    "format_usd",
    "record_cost",
    "rough_token_count",
    "usage_report",
    "write_usage_report",
]

_LAZY: dict[str, tuple[str, ...]] = {
    "alltoken_agent.ledger.budgets": (
        "Budget",
        "BudgetStatus",
        "Budgets",
        "LedgerSpend",
        "SpendSource",
    ),
    "alltoken_agent.ledger.costs": ("estimate_request_cost", "format_usd", "record_cost"),
    "alltoken_agent.ledger.deferred": ("DeferredLedger",),
    "alltoken_agent.ledger.ledger": (
        "REPORT_KEYS",
        "Ledger",
        "ReportBy",
        "ReportRow",
        "Spend",
        "UsageReport",
    ),
    "alltoken_agent.ledger.periods": ("parse_since", "start_of_utc_day"),
    "alltoken_agent.ledger.running_budget": ("RunningBudget",),
    "alltoken_agent.ledger.tokens": ("rough_token_count",),
    "alltoken_agent.ledger.usage_file": (
        "USAGE_FILE_VERSION",
        "usage_report",
        "write_usage_report",
    ),
    "alltoken_agent.store.usage": ("CostSource", "UsageRow"),
}
"""Module -> the names loaded from it on first use (``parse_since`` and
``start_of_utc_day`` are for the package's own front ends, not in ``__all__``)."""
# The module __getattr__ this installs is invisible to type checkers, which read the
# TYPE_CHECKING imports above and so still reject unknown names.
_SOURCE = lazy_exports(globals(), _LAZY)

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

from alltoken_agent.ledger.budgets import (
    Budget,
    Budgets,
    BudgetStatus,
    LedgerSpend,
    RunningBudget,
    SpendSource,
)
from alltoken_agent.ledger.costs import (
    estimate_request_cost,
    format_usd,
    record_cost,
    rough_token_count,
)
from alltoken_agent.ledger.ledger import (
    REPORT_KEYS,
    Ledger,
    ReportBy,
    ReportRow,
    Spend,
    UsageReport,
)
from alltoken_agent.ledger.periods import parse_since, start_of_utc_day
from alltoken_agent.ledger.usage_file import USAGE_FILE_VERSION, usage_report, write_usage_report
from alltoken_agent.store.usage import CostSource, UsageRow

__all__ = [
    "REPORT_KEYS",
    "USAGE_FILE_VERSION",
    "Budget",
    "BudgetStatus",
    "Budgets",
    "CostSource",
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
    "parse_since",
    "record_cost",
    "rough_token_count",
    "start_of_utc_day",
    "usage_report",
    "write_usage_report",
]

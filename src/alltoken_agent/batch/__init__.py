"""Batch runs: one agent turn per line of a JSONL file, journaled so a killed run resumes.

```python
from alltoken_agent.batch import BatchDefaults, BatchRunner, parse_batch
```

The journal lives in the store (:mod:`alltoken_agent.store.batches`); ``batch`` and
``worker`` commands on several machines can share one PostgreSQL store.
"""

from __future__ import annotations

from alltoken_agent.batch.input import BatchDefaults, ParsedBatch, parse_batch
from alltoken_agent.batch.runner import BatchRunner, BatchSummary
from alltoken_agent.batch.turn import error_output as error_output

__all__ = [
    "BatchDefaults",
    "BatchRunner",
    "BatchSummary",
    "ParsedBatch",
    "parse_batch",
]

"""Persistence on SQLAlchemy Core: a SQLite file by default, PostgreSQL (or any URL) by choice.

```python
from alltoken_agent.store import Store

with Store() as store:  # or Store("postgresql://user@host/db")
    session = store.sessions.create_session(name="demo")
```
"""

from __future__ import annotations

from alltoken_agent.store.engine import DEFAULT_FILENAME, default_path
from alltoken_agent.store.migrations import MIGRATIONS as MIGRATIONS
from alltoken_agent.store.records import SessionRecord
from alltoken_agent.store.sessions import SessionRepository
from alltoken_agent.store.store import Store
from alltoken_agent.store.usage import UsageRepository

__all__ = [
    "DEFAULT_FILENAME",
    "SessionRecord",
    "SessionRepository",
    "Store",
    "UsageRepository",
    "default_path",
]

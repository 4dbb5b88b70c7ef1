"""Store calls off the event loop: reads on the default thread pool, writes on one thread.

The store's API is synchronous. Reads go to asyncio's default pool. Writes (session
rows, messages and the ledger's usage rows) go to one writer thread: SQLite takes one
writer at a time anyway, and threads racing for its lock sleep in its busy handler,
which under load costs far more than the queue. Above all, no write, the ledger's
included, ever blocks the event loop that every stream shares.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from alltoken_agent.gateway import RequestRecord
from alltoken_agent.ledger import Ledger

T = TypeVar("T")

RUN_TAG: Final = "server_run"
"""Request tag carrying the run id, so each request's cost and ledger row find their run."""


class StoreCalls:
    """Runs store calls in threads; tracks each run's pending ledger writes."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alltoken-store-write")
        self._pending: dict[str, list[asyncio.Future[None]]] = {}

    async def read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a reading store call in the default thread pool."""
        return await asyncio.to_thread(call, *args, **kwargs)

    async def write(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a writing store call on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, functools.partial(call, *args, **kwargs))

    def ledger_observer(self, record: RequestRecord) -> None:
        """``gateway.add_observer``: queue the ledger's row for the writer thread."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a request made outside any event loop: write it now
            self._ledger.observer(record)
            return
        future = loop.run_in_executor(self._writer, self._ledger.observer, record)
        run_id = record.tags.get(RUN_TAG)
        if run_id is not None:
            self._pending.setdefault(run_id, []).append(future)

    async def flush(self, run_id: str) -> None:
        """Wait until the run's ledger rows are written (a budget read then counts them)."""
        futures = self._pending.pop(run_id, [])
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    def close(self) -> None:
        """Finish the queued writes and stop the writer thread."""
        self._writer.shutdown(wait=True)

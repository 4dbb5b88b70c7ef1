"""Store calls off the event loop: reads on a few threads, writes on one, ledger rows batched.

The store's API is synchronous. Writes (session rows, messages, leases and the ledger's
usage rows) go to one writer thread: SQLite takes one writer at a time anyway, and
threads racing for its lock sleep in its busy handler, which under load costs far more
than the queue. Reads go to their own small pool: one thread for SQLite (a local file
answers in well under a millisecond, and every extra thread is one more taker of the
GIL the event loop needs, and one more connection with its own page cache), a few for
a database across the network, whose round trips are worth overlapping. Reads never
wait behind writes, so a writer waiting for another process's lock holds no read up.

The ledger's rows are not a job each: a request's record joins a list, and one writer
job writes whatever the list holds when it runs, in one transaction and one insert.
Under load that is many rows per job (one commit and one hand-off between the loop and
the writer for all of them); idle, it is one row, written at once as before. The rows
are the ledger's own (``Ledger.to_row``), spooled like its rows when the store stays
locked. Above all, no write, the ledger's included, ever blocks
the event loop that every stream shares.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from alltoken_agent.gateway import RequestRecord
from alltoken_agent.ledger import Ledger
from alltoken_agent.store import UsageRepository

T = TypeVar("T")

logger = logging.getLogger("alltoken_agent.server")

RUN_TAG: Final = "server_run"
"""Request tag carrying the run id, so each request's cost and ledger row find their run."""

NETWORK_READERS: Final = 4
"""Reader threads for a database reached over the network (one for SQLite)."""


class StoreCalls:
    """Runs store calls in threads; batches the ledger's rows; tracks each run's pending ones."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._usage = UsageRepository.of(ledger.store)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alltoken-store-write")
        readers = 1 if ledger.store.dialect == "sqlite" else NETWORK_READERS
        self._readers = ThreadPoolExecutor(
            max_workers=readers, thread_name_prefix="alltoken-store-read"
        )
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        """Ledger records waiting for the writer; the loop appends, the writer job takes."""
        self._batch: asyncio.Future[None] | None = None
        """The writer job that will write ``_records``; None once it took them."""
        self._pending: dict[str, list[asyncio.Future[None]]] = {}

    async def read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a reading store call on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(call, *args, **kwargs))

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
        with self._lock:  # the job has not taken the list yet, or it is a new job's
            self._records.append(record)
            batch = self._batch
            if batch is None:
                batch = self._batch = loop.run_in_executor(self._writer, self._write_records)
        run_id = record.tags.get(RUN_TAG)
        if run_id is not None:
            self._pending.setdefault(run_id, []).append(batch)

    def _write_records(self) -> None:
        """Writer thread: write every record queued so far, each as the ledger does."""
        with self._lock:  # from here on, a new record needs a new job
            records, self._records, self._batch = self._records, [], None
        try:
            # One row too: the one insert statement, not a statement built per row.
            self._usage.add_many([self._ledger.to_row(record) for record in records])
            return
        except Exception as error:  # one row at a time, each failure logged as its own
            logger.warning("could not write %d usage rows at once: %r", len(records), error)
        for record in records:
            self._ledger.observer(record)  # logs and goes on: one bad row loses no other

    async def flush(self, run_id: str) -> None:
        """Wait until the run's ledger rows are written (a budget read then counts them)."""
        futures = self._pending.pop(run_id, [])
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    def close(self) -> None:
        """Finish the queued writes and stop the threads."""
        self._readers.shutdown(wait=True)
        self._writer.shutdown(wait=True)

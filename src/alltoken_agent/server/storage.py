"""Store calls off the event loop: reads on a few threads, writes on one, ledger rows batched.

The store's API is synchronous. Writes (session rows, messages, leases and the ledger's
usage rows) go to one writer thread: SQLite takes one writer at a time anyway, and
threads racing for its lock sleep in its busy handler, which under load costs far more
than the queue. Reads go to their own small pool: one thread for SQLite (a local file
answers in well under a millisecond, and every extra thread is one more taker of the
GIL the event loop needs, and one more connection with its own page cache), a few for
a database across the network, whose round trips are worth overlapping. Reads never
wait behind writes, so a writer waiting for another process's lock holds no read up.

The writer thread runs the writes a first token waits for (a turn's open: its lease
and history) before the turn saves queued ahead of them (``_writer.py``).

The ledger's rows are not a job each: a request's record joins a list, and the next
turn's save carries whatever the list holds (in one insert, on the same trip to the
writer thread). A server turn saves its session right after its request ends, so its
row costs no hand-off of its own, and on a SQLite file no commit of its own either
(``write_joined``); rows that no save picks up within ``LEDGER_WAIT`` go in a job of
their own. Other writes carry none: an open would wait for them. The rows
are the ledger's own (``Ledger.to_row``), spooled like its rows when the store stays
locked. Above all, no write, the ledger's included, ever blocks
the event loop that every stream shares.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

from alltoken_agent.gateway import RequestRecord
from alltoken_agent.ledger import Ledger
from alltoken_agent.server._writer import WriterThread
from alltoken_agent.store import UsageRepository

T = TypeVar("T")

logger = logging.getLogger("alltoken_agent.server")

RUN_TAG: Final = "server_run"
"""Request tag carrying the run id, so each request's cost and ledger row find their run."""

NETWORK_READERS: Final = 4
"""Reader threads for a database reached over the network (one for SQLite)."""

LEDGER_WAIT: Final = 0.005
"""Seconds the ledger's rows wait for a store write to carry them before going alone.

Each hand-off to the writer thread (a queue put that wakes it, its answer through the
loop's self-pipe) cost a server turn about as much CPU as one of its statements."""


def _settle(batch: asyncio.Future[None]) -> None:
    if not batch.done():
        batch.set_result(None)


class StoreCalls:
    """Runs store calls in threads; batches the ledger's rows; tracks each run's pending ones."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._usage = UsageRepository.of(ledger.store)
        self._writer = WriterThread("alltoken-store-write", ledger.store.joined_writes)
        readers = 1 if ledger.store.dialect == "sqlite" else NETWORK_READERS
        self._readers = ThreadPoolExecutor(
            max_workers=readers, thread_name_prefix="alltoken-store-read"
        )
        self._records: list[RequestRecord] = []
        """Ledger records no write has carried yet (the loop's own: appended and taken there)."""
        self._batch: asyncio.Future[None] | None = None
        """Done once ``_records`` are written; None while none wait."""
        self._timer: asyncio.TimerHandle | None = None
        """Sends ``_records`` alone when no write carried them in time."""
        self._pending: dict[str, list[asyncio.Future[None]]] = {}
        self._closed = False

    async def read(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a reading store call on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(call, *args, **kwargs))

    async def write(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a writing store call on the writer thread, ahead of the turn saves waiting."""
        job = functools.partial(call, *args, **kwargs)
        return await asyncio.wrap_future(self._writer.submit(job))

    async def write_grouped(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`write` for a call that only writes through the store (a turn's open).

        Such calls queued together share one transaction (``_writer.py``); each caller
        still gets its own call's result or error.
        """
        job = functools.partial(call, *args, **kwargs)
        return await asyncio.wrap_future(self._writer.submit(job, group=True))

    async def write_joined(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A turn's save: after the other writes waiting, with the ledger's rows in it.

        For a call that only writes: the rows and the call are committed together, one
        commit instead of two (see :meth:`_carry`), and with the other saves queued
        beside it (``_writer.py``). Nobody's first token waits for a save, so it goes in
        the writer's ``later`` lane.
        """
        loop = asyncio.get_running_loop()
        job: Callable[[], T] = functools.partial(call, *args, **kwargs)
        taken = self._take()
        if taken is None:
            return await asyncio.wrap_future(self._writer.submit(job, later=True, group=True))
        records, batch = taken
        future = self._writer.submit(
            functools.partial(self._carry, records, job), later=True, group=True
        )
        # The rows' waiters hear once the save's outcome is known: after the commit of
        # its transaction, which may be a group's (the rows are written or logged by then).
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(_settle, batch))
        # Shielded: the rows may be other runs' too, and a cancelled caller must not take
        # the job off the queue with them (wrap_future cancels a job not started yet).
        return await asyncio.shield(asyncio.wrap_future(future))

    def ledger_observer(self, record: RequestRecord) -> None:
        """``gateway.add_observer``: queue the ledger's row for the next save to carry."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a request made outside any event loop: write it now
            self._ledger.observer(record)
            return
        self._records.append(record)
        batch = self._batch
        if batch is None:
            batch = self._batch = loop.create_future()
            self._timer = loop.call_later(LEDGER_WAIT, self._send_alone)
        run_id = record.tags.get(RUN_TAG)
        if run_id is not None:
            self._pending.setdefault(run_id, []).append(batch)

    def _take(self) -> tuple[list[RequestRecord], asyncio.Future[None]] | None:
        """The waiting records and their batch's future (None: none wait)."""
        batch = self._batch
        if batch is None:
            return None
        records, self._records, self._batch = self._records, [], None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return records, batch

    def _send_alone(self) -> None:
        """Timer: no write came to carry the waiting rows; send them in a job of their own."""
        self._timer = None
        taken = None if self._closed else self._take()
        if taken is None:
            return
        records, batch = taken
        loop = asyncio.get_running_loop()
        self._writer.submit(functools.partial(self._write_batch, records, batch, loop), later=True)

    def _carry(self, records: list[RequestRecord], job: Callable[[], T]) -> T:
        """Writer thread: write the ledger's rows and run ``job``.

        Both in one transaction where the store can (a SQLite file; see
        ``Store.joined_writes``): a server turn's save carries its request's row, one
        commit for both. If anything in it fails, none of it was written, and the rows
        (each as the ledger writes it) and ``job`` go one after the other.
        """
        try:
            with self._ledger.store.joined_writes():
                self._usage.add_many([self._ledger.to_row(record) for record in records])
                return job()
        except Exception:
            self._write_rows(records)
            return job()

    def _write_batch(
        self,
        records: list[RequestRecord],
        batch: asyncio.Future[None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """Writer thread: write the records, then settle their batch's future on the loop."""
        try:
            self._write_rows(records)
        finally:
            loop.call_soon_threadsafe(_settle, batch)

    def _write_rows(self, records: list[RequestRecord]) -> None:
        """Writer thread: write the records, each as the ledger does (never raises)."""
        if not records:
            return
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
        """Finish the queued writes (the ledger's waiting rows too) and stop the threads."""
        self._closed = True
        records, self._records = self._records, []
        if records:
            self._writer.submit(functools.partial(self._write_rows, records))
        self._readers.shutdown(wait=True)
        self._writer.shutdown()

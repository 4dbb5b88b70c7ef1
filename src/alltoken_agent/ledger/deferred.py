"""A ledger that opens its store and looks prices up once the first request has ended.

``chat`` should send its request as soon as it can: opening the store imports
SQLAlchemy and migrates the database, and pricing asks the gateway's catalog, and
neither is needed to send a request that no budget checks. :class:`DeferredLedger`
holds the records of requests that ended before it was ready, looks prices up (the
catalog's disk cache first, as :meth:`~alltoken_agent.catalog.Catalog.prices` does)
and opens the store right after the first request ends, then records them all, each
priced exactly as an eager ledger would have priced it. Later requests are recorded
as they end.

With the default store (no store handed in, none to open), the rows go into the SQLite
file with the standard library's ``sqlite3`` when the file is ready for them
(:func:`~alltoken_agent.ledger.rows.write_quickly`), so a short run never imports
SQLAlchemy; otherwise the store opens and writes them, as it always did.

A request whose cost the gateway reported (AllToken's cost comment) needs no price:
its row is written without the lookup, and the lookup (a catalog request, when its cache
is cold) is made only once a request arrives whose cost must be estimated.

The truth rules do not move with the lookup: a row is priced from the lookup (or the
gateway's own cost) when it is written, never stored as unknown merely because the
lookup had not finished; a lookup that fails leaves only the config's ``[prices]``,
as before; an interrupted run (Ctrl-C, SIGTERM) stops the lookup and records what it
holds at once, unpriced where the gateway sent no cost (unknown, never 0).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from alltoken_agent.ledger.rows import can_write_quickly, row_fields, write_quickly

if TYPE_CHECKING:
    from alltoken_agent.catalog.prices import PriceLookup
    from alltoken_agent.config import Config
    from alltoken_agent.gateway import Gateway, RequestRecord
    from alltoken_agent.ledger.ledger import Ledger
    from alltoken_agent.store import Store

logger = logging.getLogger("alltoken_agent")


class DeferredLedger:
    """Records every request of ``gateway``, opening the ledger only when it is needed.

    Example:
        ```python
        deferred = DeferredLedger(gateway, config)
        gateway.add_observer(deferred.observer)
        try:
            await agent.run("hi")  # the request goes out before SQLAlchemy is imported
        finally:
            await deferred.aclose()  # every request recorded, priced
        ```

    Args:
        gateway: The gateway whose requests are recorded, and whose catalog prices them.
        config: Its ``[prices]`` win over the catalog's.
        store: An open store to record in (the caller closes it); None opens the
            default store when the first record is written, closed by :meth:`aclose`.
        open_store: Opens the store when ``store`` is None; default ``Store()``.
    """

    def __init__(
        self,
        gateway: Gateway,
        config: Config,
        *,
        store: Store | None = None,
        open_store: Callable[[], Store] | None = None,
    ) -> None:
        self._gateway = gateway
        self._config = config
        self._store = store
        self._own_store = store is None
        self._open_store = open_store
        self._prices: PriceLookup | None = None
        self._priced = False
        self._ledger: Ledger | None = None
        self._pending: list[RequestRecord] = []
        self._lookup: asyncio.Task[None] | None = None
        self._closed = False
        self._prepared = False
        """Set by :meth:`interrupt` and :meth:`aclose`: from then on records are written at once."""

    @property
    def prices(self) -> PriceLookup | None:
        """The price lookup, once it has been made; None before."""
        return self._prices

    @property
    def store(self) -> Store | None:
        """The store records go to, once it is open."""
        return self._store

    def prepare(self) -> None:
        """Import the store's modules (SQLAlchemy) in a thread while the reply streams.

        For a caller whose request is on its way: the time a reply takes hides the ~0.1 s
        the ledger's imports cost, instead of adding it after the reply. Idempotent, and
        a no-op once the ledger is open.
        """
        if self._prepared or self._ledger is not None:
            return
        self._prepared = True
        if self._default_store() and can_write_quickly():
            return  # the rows will go in with sqlite3: nothing to import
        threading.Thread(target=_import_store, name="ledger-imports", daemon=True).start()

    async def look_up_prices(self) -> PriceLookup:
        """Look prices up now, if not done yet (for a budget that estimates a request)."""
        if not self._priced:
            from alltoken_agent.catalog.service import Catalog

            self._prices = await Catalog(self._gateway).prices(self._config.prices)
            self._priced = True
        assert self._prices is not None
        return self._prices

    async def ledger(self) -> Ledger:
        """The ledger, ready now: prices looked up and the store open (for budgets)."""
        await self.look_up_prices()
        return self._ready()

    def observer(self, record: RequestRecord) -> None:
        """Record ``record``, for ``gateway.add_observer``; never raises.

        Before the prices are known the record waits for them, and the lookup starts
        (right after this request, the first one, ended).
        """
        if self._ledger is not None and not self._pending:
            if self._priced or not needs_prices(record):
                self._ledger.observer(record)
                return
        self._pending.append(record)
        if self._priced or self._closed or not any(map(needs_prices, self._pending)):
            self._flush()  # in request order: a record waiting for prices holds later ones
        elif self._lookup is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop to look prices up on: record now
                self._flush()
                return
            self._lookup = loop.create_task(self._price_then_flush())

    def interrupt(self) -> None:
        """The run was stopped (Ctrl-C, SIGTERM): stop looking prices up, record now."""
        if self._lookup is not None and not self._lookup.done():
            self._lookup.cancel()
        self._closed = True
        self._flush()

    async def aclose(self) -> None:
        """Wait for the lookup, record what waits, and close a store this opened."""
        if self._lookup is not None and not self._closed:
            try:
                await asyncio.shield(self._lookup)
            except asyncio.CancelledError:
                self.interrupt()  # stopped while waiting for prices: keep the records
                raise
            except Exception:  # the lookup never fails a paid request's record
                logger.exception("the price lookup failed")
        self._closed = True
        try:
            self._flush()
        finally:
            if self._own_store and self._store is not None:
                self._store.close()

    async def _price_then_flush(self) -> None:
        try:
            await self.look_up_prices()
        finally:
            self._flush()

    def _flush(self) -> None:
        """Record the held records with what is known of prices now."""
        if not self._pending:
            return
        held, self._pending = self._pending, []
        if self._ledger is None and self._default_store() and self._write_quickly(held):
            return
        try:
            ledger = self._ready()
        except Exception as error:
            # As Ledger.observer does for a database it cannot write: a lost row is
            # logged, and the paid request it stands for is not failed after the fact.
            logger.warning("could not record the usage of %d request(s): %s", len(held), error)
            return
        for record in held:
            ledger.observer(record)

    def _default_store(self) -> bool:
        """Whether the records go to the default store, which this opens itself."""
        return self._store is None and self._open_store is None

    def _write_quickly(self, held: list[RequestRecord]) -> bool:
        """Store ``held`` with sqlite3, priced as the ledger would; False: the store must."""
        try:
            return write_quickly([row_fields(record, self._prices) for record in held])
        except Exception:  # the store's own path then records them, or says why not
            logger.debug("the quick ledger write failed", exc_info=True)
            return False

    def _ready(self) -> Ledger:
        if self._ledger is None:
            from alltoken_agent.ledger.ledger import Ledger

            if self._store is None:
                if self._open_store is None:
                    from alltoken_agent.store import Store

                    self._store = Store()
                else:
                    self._store = self._open_store()
            # The gateway knows from its first reply whether a simulator answers: the
            # ledger reads that book (each row goes to the book its record names).
            self._ledger = Ledger(self._store, self._prices, simulated=self._gateway.simulated)
        elif self._priced and self._ledger.prices is None:
            self._ledger.prices = self._prices
        return self._ledger


def needs_prices(record: RequestRecord) -> bool:
    """Whether recording ``record`` may need a price (ledger/costs.py's rules 2 and 3).

    Not when the gateway reported its cost, nor when it reported one that failed
    validation: that cost stays unknown, never estimated.
    """
    return record.cost is None and not record.extra.get("cost_unknown")


def _import_store() -> None:
    # An import here only warms the module cache: a failure surfaces, with its message,
    # where the ledger imports the same modules for real.
    try:
        import alltoken_agent.ledger.ledger
        import alltoken_agent.store.store  # noqa: F401
    except Exception:  # pragma: no cover - reported by the real import
        logger.debug("the ledger's modules failed to import early", exc_info=True)

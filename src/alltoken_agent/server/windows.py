"""Each model's context window, so a turn reads a long session only as far as it can fit.

A session of thousands of turns cannot be sent whole; reading, decoding, copying and
counting all of it on every message, only for the agent to leave most of it out, cost
a message of a 20,000-turn session about 120 ms of the server's CPU against 2 ms for a
short one (bench/README.md, ``server_long_session.py``). ``open_turn`` reads
such a session newest first and stops at the window of the session's model
(``HistoryFit``), as ``chat --session`` does (``agent/stored_history.py``).

The windows are the config's ``[context] lengths``, then the catalog's. The catalog's
are loaded in the background when the server starts and again once they are an hour
old: a turn never waits for them. Until they are in, a long session is read whole
(slower, never wrong: the agent trims what it was given).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Final

from alltoken_agent.catalog.cache import CacheTTL
from alltoken_agent.catalog.lengths import context_lengths
from alltoken_agent.gateway import Gateway
from alltoken_agent.ledger.tokens import message_token_count
from alltoken_agent.store.history import HistoryFit

logger = logging.getLogger("alltoken_agent.server")

RETRY_AFTER: Final = 60.0
"""Seconds before a catalog that gave no windows is asked again."""


class ContextWindows:
    """The windows by model: read on the store's writer thread, loaded on the event loop."""

    def __init__(self, gateway: Gateway, configured: Mapping[str, int], default_model: str) -> None:
        self._gateway = gateway
        self._configured = dict(configured)
        self._default_model = default_model
        self._catalog: dict[str, int] = {}
        """Replaced whole when loaded: the writer thread reads it while the loop writes."""
        self._due = 0.0
        """When (``time.monotonic()``) the catalog's windows are to be loaded again."""
        self._loading: asyncio.Task[None] | None = None
        self.fit = HistoryFit(budget=self.window, measure=message_token_count)
        """What ``SessionRepository.open_turn`` reads a long session by."""

    def window(self, model: str | None) -> int | None:
        """``model``'s context window (None: the server's default model), None if unknown."""
        name = model or self._default_model
        return self._configured.get(name) or self._catalog.get(name)

    def refresh(self) -> None:
        """Load the catalog's windows in the background when they are due; never waits."""
        if time.monotonic() < self._due or (self._loading and not self._loading.done()):
            return
        self._loading = asyncio.create_task(self.load(), name="context-windows")

    async def stop(self) -> None:
        """Cancel a load in flight (the server is stopping)."""
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
            await asyncio.gather(self._loading, return_exceptions=True)

    async def load(self) -> None:
        """Load the catalog's windows now (an unreachable catalog: asked again in a minute)."""
        self._due = time.monotonic() + RETRY_AFTER  # no second load while this one runs
        try:
            found = await context_lengths(self._gateway)
        except Exception as error:  # a lookup that failed must not fail a turn
            logger.warning("no context windows from the catalog: %r", error)
            return
        if found:
            self._catalog = found
            self._due = time.monotonic() + CacheTTL().catalog

"""How much of a `--session`'s stored history `chat` loads: what can fit, not everything.

A session of thousands of turns cannot be sent whole, and reading, decoding and
copying every stored message only for the agent to leave most of them out made each
message slow. Past :data:`LONG_SESSION` stored messages, only the newest whole turns
that fit the model's context are read; the agent then trims them exactly as before
(what it keeps is always within what was read, which is never less than it can send).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alltoken_agent import Gateway
    from alltoken_agent.config import Config
    from alltoken_agent.store import SessionRecord, Store

LONG_SESSION = 1000
"""Stored messages up to which the whole history is loaded (cheap; no lookup needed)."""


async def load_history(
    store: Store, record: SessionRecord, gateway: Gateway, config: Config, model: str
) -> list[dict[str, Any]]:
    """The session's history to continue from: all of it, or the newest part that can fit."""
    if record.message_count > LONG_SESSION:
        limit = config.context.lengths.get(model) or await _catalog_length(gateway, model)
        if limit:
            from alltoken_agent.ledger import rough_token_count

            def tokens(message: Mapping[str, Any]) -> int:
                return rough_token_count((message,))

            return await asyncio.to_thread(
                store.sessions.load_recent_messages, record.id, budget=limit, measure=tokens
            )
    return await asyncio.to_thread(store.sessions.load_messages, record.id)


async def _catalog_length(gateway: Gateway, model: str) -> int | None:
    """The catalog's context length (the agent's own lookup reads the same cache after)."""
    from alltoken_agent.catalog.lengths import context_lengths

    return (await context_lengths(gateway)).get(model)

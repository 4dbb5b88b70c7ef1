"""How much of a stored session an agent continues from: what can fit, not everything.

A session of thousands of turns cannot be sent whole, and reading, decoding and
copying every stored message only for the agent to leave most of them out made each
message slow. Past ``LONG_SESSION`` stored messages, only the newest whole turns
that fit the model's context are read; the agent then trims them exactly as before
(what it keeps is always within what was read, which is never less than it can send).
``chat --session``, the TUI and the MCP ``chat`` tool load a session with :func:`load_history`;
the server's turns read one the same way inside their store call (``server/windows.py``).
The store and the catalog are imported when a session is loaded, not with the agent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alltoken_agent import Gateway
    from alltoken_agent.config import Config
    from alltoken_agent.store import SessionRecord, Store


async def load_history(
    store: Store, record: SessionRecord, gateway: Gateway, config: Config, model: str
) -> list[dict[str, Any]]:
    """The session's history to continue from: all of it, or the newest part that can fit."""
    from alltoken_agent.store.history import LONG_SESSION

    if record.message_count > LONG_SESSION:
        from alltoken_agent.catalog.lengths import context_length_of

        limit = await context_length_of(gateway, model, config.context.lengths)
        if limit:
            from alltoken_agent.ledger.tokens import message_token_count

            return await asyncio.to_thread(
                store.sessions.load_recent_messages,
                record.id,
                budget=limit,
                measure=message_token_count,
            )
    return await asyncio.to_thread(store.sessions.load_messages, record.id)

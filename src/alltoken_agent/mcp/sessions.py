"""Named conversations for the ``chat`` tool, kept in the store like the CLI's ``--session``.

Sessions are local (no owner), so ``chat --session work`` on the command line and the
``chat`` tool with ``session="work"`` continue the same conversation. Calls on one
session name are serialised, so two concurrent tool calls never interleave their turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from alltoken_agent import Config, Gateway
from alltoken_agent.agent.stored_history import load_history
from alltoken_agent.store import SessionRecord, Store


@dataclass
class OpenSession:
    """A session loaded for one tool call."""

    record: SessionRecord
    history: list[dict[str, Any]]
    """What the call continues from: all of it, or the newest turns that can fit."""


class SessionBook:
    """Loads and saves named sessions of one store, one call per name at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def open(
        self, name: str, *, gateway: Gateway, config: Config, model: str
    ) -> AsyncIterator[OpenSession]:
        """Hold ``name`` (created if new) with its history for the length of the block.

        A long session is read only as far as ``model``'s context can take
        (``agent/stored_history.py``), as ``chat --session`` reads it.
        """
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            record, _ = await asyncio.to_thread(self._store.sessions.get_or_create_session, name)
            history = await load_history(self._store, record, gateway, config, model)
            yield OpenSession(record=record, history=history)

    async def save(
        self,
        session: OpenSession,
        messages: Sequence[dict[str, Any]],
        *,
        model: str | None,
        system: str | None,
    ) -> int:
        """Append this call's messages; returns how many messages the session now holds."""
        return await asyncio.to_thread(self._save, session, list(messages), model, system)

    def _save(
        self,
        session: OpenSession,
        messages: list[dict[str, Any]],
        model: str | None,
        system: str | None,
    ) -> int:
        sessions = self._store.sessions
        if messages:
            sessions.append_messages(session.record.id, messages)
        changes: dict[str, Any] = {"model": model}
        if system is not None:
            changes["instructions"] = system
        sessions.update_session(session.record.id, **changes)
        # As the session's record counts them: the history may hold only its newest part.
        return session.record.message_count + len(messages)

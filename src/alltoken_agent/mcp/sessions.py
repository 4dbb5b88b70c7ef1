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

from alltoken_agent.store import SessionRecord, Store


@dataclass
class OpenSession:
    """A session loaded for one tool call."""

    record: SessionRecord
    history: list[dict[str, Any]]


class SessionBook:
    """Loads and saves named sessions of one store, one call per name at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def open(self, name: str) -> AsyncIterator[OpenSession]:
        """Hold ``name`` (created if new) with its history for the length of the block."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            yield await asyncio.to_thread(self._load, name)

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

    def _load(self, name: str) -> OpenSession:
        record, _ = self._store.sessions.get_or_create_session(name)
        return OpenSession(record=record, history=self._store.sessions.load_messages(record.id))

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
        return len(session.history) + len(messages)

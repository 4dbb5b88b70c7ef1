"""The stored session the TUI keeps its conversation in.

Store calls are synchronous (SQLAlchemy), so each one runs in a thread; the app
calls these methods from its workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alltoken_agent import UserError
from alltoken_agent.store import SessionRecord, Store
from alltoken_agent.tui.timeline import METADATA_KEY

Loader = Callable[[SessionRecord], Awaitable[list[dict[str, Any]]]]
"""Reads a stored session's messages to continue from (``Conversation`` passes one)."""


def default_session_name(now: datetime | None = None) -> str:
    """A name for a new session from the local date and time (``chat 2026-05-01 14:03:07``)."""
    return (now or datetime.now()).strftime("chat %Y-%m-%d %H:%M:%S")


def conversation(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages a session stores: everything but the system prompt."""
    return [m for m in messages if m.get("role") != "system"]


TITLE_LENGTH = 48
"""Characters of a first prompt shown as the title of a session without a name."""


@dataclass(frozen=True)
class StoredSession:
    """One row of the sessions picker: the stored session and its first prompt."""

    record: SessionRecord
    first_prompt: str | None = None

    @property
    def title(self) -> str:
        """The session's name, else its first prompt cut short, else its id."""
        if self.record.name:
            return self.record.name
        text = " ".join((self.first_prompt or "").split())
        if not text:
            return self.record.id
        return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"

    def matches(self, query: str) -> bool:
        """Whether every word of ``query`` is in the title, name, model or first prompt."""
        record = self.record
        haystack = " ".join(
            part or "" for part in (self.title, record.name, record.model, self.first_prompt)
        ).lower()
        return all(word in haystack for word in query.lower().split())


class SessionKeeper:
    """Appends each finished turn to one stored session, created at the first save.

    One call at a time: the caller serialises them (``Conversation`` holds a lock).

    Args:
        store: Where sessions live; None keeps nothing (and /sessions says so).
        name: The session to write to; None names a new one by date and time.
        namer: Makes that name (tests pin it).
    """

    def __init__(
        self,
        store: Store | None,
        name: str | None = None,
        *,
        namer: Callable[[], str] = default_session_name,
    ) -> None:
        self.store = store
        self.record: SessionRecord | None = None
        self._name = name
        self._namer = namer
        self.saved = 0
        """Messages of the agent's conversation (after its system prompt) already stored."""
        self.opened_new = False
        """Whether :meth:`open` found no session of its name and created it."""
        self.skipped = 0
        """Stored messages before the ones the last open or resume returned: a long
        session gives the agent only its newest part that can fit (``load_history``)."""

    @property
    def name(self) -> str | None:
        """The session's name, once it has one."""
        return self.record.name if self.record is not None else self._name

    def ledger_name(self) -> str:
        """The name this session's requests are recorded under in the ledger.

        A new session gets its name here, before its first save, so the requests of
        its first turn carry the name it is then stored under.
        """
        if self.record is None and self._name is None:
            self._name = self._namer()
        name = self.name
        assert name is not None
        return name

    async def open(self, load: Loader) -> list[dict[str, Any]]:
        """Open the named session (created if new) and return its messages; [] when unnamed.

        ``load`` reads a session's messages: all of them, or the newest part (then
        :attr:`skipped` says how many come before it).
        """
        if self.store is None or self._name is None:
            return []
        store, name = self.store, self._name
        record, created = await asyncio.to_thread(store.sessions.get_or_create_session, name)
        messages = await self.resume(record, load)
        self.opened_new = created
        return messages

    async def resume(self, record: SessionRecord, load: Loader) -> list[dict[str, Any]]:
        """Write to ``record`` from now on; returns its stored messages (``load``'s part)."""
        self.require_store()
        messages = await load(record)
        self.record = record
        self._name = record.name
        self.saved = len(messages)
        self.skipped = max(0, record.message_count - len(messages))
        return messages

    async def earlier(self) -> list[dict[str, Any]]:
        """The stored messages before those the agent was given (:attr:`skipped` of them)."""
        if not self.skipped or self.record is None:
            return []
        store, session_id, skipped = self.require_store(), self.record.id, self.skipped
        messages = await asyncio.to_thread(store.sessions.load_messages, session_id)
        return messages[:skipped]

    def start_new(self) -> None:
        """Forget the current session: the next save creates a new one."""
        self.record = None
        self._name = None
        self.saved = 0
        self.skipped = 0

    async def list(self, limit: int = 50) -> list[StoredSession]:
        """Stored sessions with their first prompts, most recently updated first."""
        store = self.require_store()

        def read() -> list[StoredSession]:
            from alltoken_agent.store.search import session_facts

            records = store.sessions.list_sessions(limit=limit)
            facts = session_facts(store, [r.id for r in records])
            return [StoredSession(r, facts.get(r.id, (0, None))[1]) for r in records]

        return await asyncio.to_thread(read)

    async def save(
        self,
        new: Sequence[dict[str, Any]],
        *,
        model: str,
        instructions: str | None,
        timeline: dict[str, Any] | None = None,
    ) -> bool:
        """Append the messages not stored yet; remember the model and system prompt.

        Args:
            new: The agent's conversation after its :attr:`saved` messages (not the
                whole of it: a long chat's copy per message grew with the chat).
            model: The model the turn ran on.
            instructions: The current system prompt.
            timeline: Where media jobs and system prompts happened, kept in the
                session's metadata under ``METADATA_KEY`` (other keys stay).

        Returns:
            Whether anything was written (False without a store or new messages).
        """
        store = self.store
        if store is None:
            return False
        fresh = conversation(new)
        if not fresh:
            return False
        if self.record is None:
            self.record = await asyncio.to_thread(self._create)
        session_id = self.record.id
        await asyncio.to_thread(store.sessions.append_messages, session_id, fresh)
        self.saved += len(fresh)
        if timeline is None:
            self.record = await asyncio.to_thread(
                store.sessions.update_session, session_id, model=model, instructions=instructions
            )
        else:
            self.record = await asyncio.to_thread(
                store.sessions.update_session,
                session_id,
                model=model,
                instructions=instructions,
                metadata=self._with_timeline(timeline),
            )
        return True

    async def save_timeline(self, timeline: dict[str, Any]) -> bool:
        """Store ``timeline`` in the session's metadata; False before the session exists.

        A session is created with its first messages; the timeline goes in with them.
        """
        store, record = self.store, self.record
        if store is None or record is None:
            return False
        metadata = self._with_timeline(timeline)
        if metadata == record.metadata:
            return False
        self.record = await asyncio.to_thread(
            store.sessions.update_session, record.id, metadata=metadata
        )
        return True

    def _with_timeline(self, timeline: dict[str, Any]) -> dict[str, Any]:
        existing = self.record.metadata if self.record is not None else {}
        return {**existing, METADATA_KEY: timeline}

    def _create(self) -> SessionRecord:
        store = self.require_store()
        base = self._name or self._namer()
        for attempt in range(1, 100):
            name = base if attempt == 1 else f"{base} ({attempt})"
            try:
                return store.sessions.create_session(name=name)
            except UserError:
                continue  # the name is taken (two sessions in one second)
        return store.sessions.create_session()

    def require_store(self) -> Store:
        """The store, or a UserError saying there is none."""
        if self.store is None:
            raise UserError("no session store is open, so sessions are not kept")
        return self.store

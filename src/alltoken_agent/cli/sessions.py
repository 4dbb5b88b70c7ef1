"""`--session NAME`: a conversation kept in the local store between runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alltoken_agent.store import SessionRecord, Store


@dataclass
class SessionLink:
    """A named session opened for one command run."""

    store: Store
    record: SessionRecord
    history: list[dict[str, Any]]

    @classmethod
    def open(cls, store: Store, name: str) -> SessionLink:
        """Open (or create) the session called ``name``."""
        record, _ = store.sessions.get_or_create_session(name)
        history = store.sessions.load_messages(record.id)
        return cls(store=store, record=record, history=history)

    @property
    def instructions(self) -> str | None:
        """The system prompt the session was last run with."""
        return self.record.instructions

    def save(
        self, messages: Sequence[dict[str, Any]], *, model: str | None, system: str | None
    ) -> None:
        """Append this run's messages; remember the model and any new system prompt."""
        if messages:
            self.store.sessions.append_messages(self.record.id, messages)
        changes: dict[str, Any] = {"model": model}
        if system is not None:
            changes["instructions"] = system
        self.store.sessions.update_session(self.record.id, **changes)

"""Values the store hands out, as frozen dataclasses, and checks on the values it takes in."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alltoken_agent.errors import UserError
from alltoken_agent.store.schema import NAME_LENGTH


class _Unset(enum.Enum):
    """Type of :data:`_UNSET`."""

    UNSET = "UNSET"


_UNSET = _Unset.UNSET
"""Default of optional update arguments: "leave this field alone", as None means "clear it"."""


def new_session_id() -> str:
    """Return a fresh random session id: ``ses_`` and 16 hex digits."""
    return f"ses_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class SessionRecord:
    """One stored conversation, without its messages."""

    id: str
    """Random id, ``ses_`` followed by 16 hex digits."""
    name: str | None
    """Optional name, unique per owner."""
    owner: str | None
    """Who the session belongs to: a server key's id, or None for local use."""
    model: str | None
    """The model the session talks to, when one was chosen."""
    instructions: str | None
    """The system prompt, when one was set."""
    metadata: dict[str, Any]
    """Free-form JSON object for callers; ``{}`` when none was given."""
    created_at: datetime
    """When the session was created (aware, UTC)."""
    updated_at: datetime
    """When the session or its messages last changed (aware, UTC)."""
    message_count: int
    """How many messages the session holds."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> SessionRecord:
        """Build a record from a row of ``sessions`` plus a ``message_count`` column."""
        return cls(
            id=row["id"],
            name=row["name"],
            owner=row["owner"],
            model=row["model"],
            instructions=row["instructions"],
            metadata=dict(row["metadata"] or {}),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            message_count=int(row["message_count"] or 0),
        )


@dataclass(frozen=True)
class TurnStart:
    """What opening a server turn on a session found (``SessionRepository.open_turn``)."""

    holder: str | None
    """Who holds the session's lease now; None when the owner has no such session."""
    session: SessionRecord | None
    """The session, when the lease was taken for the caller; None otherwise."""
    messages: list[dict[str, Any]]
    """The session's messages, oldest first (empty unless the lease was taken)."""


# -- Checks on what callers hand in, before any transaction starts. ----------------------


def check_name(name: str | None) -> None:
    """Refuse a session name that is empty, blank or too long for the column."""
    if name is None:
        return
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"a session name must be a non-empty string, not {name!r}")
    if len(name) > NAME_LENGTH:
        raise UserError(f"a session name may have at most {NAME_LENGTH} characters")


def check_owner(owner: str | None) -> None:
    """Refuse an owner id that is empty or too long for the column."""
    if owner is None:
        return
    if not isinstance(owner, str) or not owner:
        raise UserError(f"an owner must be a non-empty string or None, not {owner!r}")
    if len(owner) > NAME_LENGTH:
        raise UserError(f"an owner id may have at most {NAME_LENGTH} characters")


def check_limit(limit: int) -> None:
    """Refuse a listing limit that is not a positive integer."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UserError(f"limit must be a positive integer, not {limit!r}")


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return session metadata as a plain dict (``{}`` for None), refusing non-mappings."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise UserError(f"metadata must be a mapping, not {type(metadata).__name__}")
    return dict(metadata)


def message_rows(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return the messages as plain dicts, refusing anything that is not a list of mappings.

    Values inside are stored as given; one that JSON cannot represent fails the whole
    write (as a ``UserError``) when the transaction serialises it.
    """
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
        raise UserError(f"messages must be a list of dicts, not {type(messages).__name__}")
    rows: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise UserError(
                f"message {index} must be a dict (an OpenAI chat message), "
                f"not {type(message).__name__}"
            )
        rows.append(dict(message))
    return rows

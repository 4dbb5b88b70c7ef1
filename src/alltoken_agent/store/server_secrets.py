"""Random keys every server replica sharing one store signs with (``server_secrets``).

A key is made once per store and purpose, by whichever process needs it first, with
:func:`secrets.token_bytes`; every replica (and every restart) then reads the same one.
Two processes making it at once both insert; the primary key lets one win and the other
reads the winner's row, so all of them sign with one key. Whoever can read the store can
read the keys: they guard what the store already holds (a file link opens a job's file,
which the store's journal points at), nothing more.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from alltoken_agent.store._errors import WriteConflictError
from alltoken_agent.store.engine import Database
from alltoken_agent.store.schema import server_secrets as _secrets

if TYPE_CHECKING:
    from alltoken_agent.store.store import Store

KEY_BYTES: Final = 32
"""The size of a key made here: as long as SHA-256's output, as HMAC-SHA256 wants."""


class ServerSecrets:
    """The shared keys of one store, made on first use (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def of(cls, store: Store) -> ServerSecrets:
        """The shared keys of an open :class:`~alltoken_agent.store.Store`."""
        # Same package: the store hands its Database to its own repositories.
        return cls(store._db)

    def get(self, name: str) -> bytes:
        """The key for ``name``, made now if the store has none yet (race-safe).

        Raises:
            ConfigError: The database failed (translated, as every store call).
        """
        found = self._read(name)
        if found is not None:
            return found
        key = secrets.token_bytes(KEY_BYTES)
        try:
            with self._db.write() as conn:
                conn.execute(
                    sa.insert(_secrets).values(
                        name=name, value=key.hex(), created_at=datetime.now(timezone.utc)
                    )
                )
            return key
        except WriteConflictError:
            pass  # another process inserted first: every replica must use its key
        found = self._read(name)
        if found is None:  # pragma: no cover - a conflict means the row exists
            raise WriteConflictError(f"the shared key {name!r} could not be made nor read")
        return found

    def _read(self, name: str) -> bytes | None:
        query = sa.select(_secrets.c.value).where(_secrets.c.name == name)
        with self._db.read() as conn:
            value = conn.scalar(query)
        return None if value is None else bytes.fromhex(value)

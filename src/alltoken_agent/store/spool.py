"""The spool: where a paid request's ledger row and a session's turn wait for a locked store.

When another process keeps the database locked for longer than the store waits
(``ALLTOKEN_AGENT_STORE_WAIT``, with bounded retries), losing what was just paid
for is the worst outcome. So the ledger row, the session's new messages and its
settings go to an append-only file beside the database instead, one JSON object
a line, flushed to disk (``fsync``) before the write counts as done, readable by
this user only (mode 0600: the messages are the user's conversation). The next
time a store on that database is opened, :func:`alltoken_agent.store.replay.replay_spool`
moves the entries into the tables and only then empties the file.

Each line: ``{"v": 1, "id": "<32 hex>", "kind": "usage" | "messages" |
"session_update", "at": "<ISO-8601>", "data": {...}}``. The id makes the replay
idempotent: the database remembers the ids it replayed, so a line replayed twice
(a crash between the commit and the emptying of the file) is stored once.

Writers and the replay take an exclusive ``flock`` on the file, so an entry
appended while a replay runs is never emptied away unreplayed. Windows has no
``flock``; there the file is used without one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy.engine import URL

from alltoken_agent.errors import ConfigError
from alltoken_agent.paths import app_dirs

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("alltoken_agent")

SPOOL_VERSION = 1
"""The ``v`` of every line; a reader skips lines of versions it does not know."""

SpoolKind = Literal["usage", "messages", "session_update"]
KINDS: frozenset[str] = frozenset({"usage", "messages", "session_update"})


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled write."""

    id: str
    """Random, unique: what the replay remembers to store the entry only once."""
    kind: SpoolKind
    data: dict[str, Any]
    """The row or the turn, as JSON (see the module docstring)."""


def spool_path(url: URL) -> Path | None:
    """Where the spool of the database at ``url`` lives; None for an in-memory database.

    A SQLite file's spool sits beside it (``alltoken-agent.db.spool``); a server
    database's in the data folder, named after a digest of its masked URL.
    """
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:") or str(url.database).startswith("file:"):
            return None
        database = Path(str(url.database)).absolute()
        return database.with_name(database.name + ".spool")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return app_dirs().data / f"store-{digest[:16]}.spool"


class Spool:
    """The append-only spool file of one database (see the module docstring).

    Args:
        path: The file; created (mode 0600) by the first append.
        store_name: The database's masked URL, for the message saying a row was spooled.
    """

    def __init__(self, path: Path, store_name: str) -> None:
        self.path = path
        self.store_name = store_name
        self._announced = False

    def __repr__(self) -> str:
        return f"Spool({str(self.path)!r})"

    def append(self, kind: SpoolKind, data: Mapping[str, Any], reason: str) -> str:
        """Add one entry, durably (written and fsynced), and return its id.

        The first entry a process spools is announced once, as a warning on the
        ``alltoken_agent`` logger (one line on stderr from the CLI).

        Args:
            kind: What the entry holds.
            data: The row or the turn; must be JSON-serialisable.
            reason: Why the store refused it, for the warning.

        Raises:
            ConfigError: The file could not be written either (then the write is
                lost, as it would have been without a spool, and the error says so).
        """
        entry_id = uuid.uuid4().hex
        line = {
            "v": SPOOL_VERSION,
            "id": entry_id,
            "kind": kind,
            "at": datetime.now(timezone.utc).isoformat(),
            "data": dict(data),
        }
        text = json.dumps(line, ensure_ascii=False, allow_nan=False, default=str) + "\n"
        what = "usage row" if kind == "usage" else "session turn"
        try:
            with self._locked("a") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise ConfigError(
                f"the store {self.store_name} stayed locked ({reason}) and the {what} could "
                f"not be kept in its spool {self.path} either: {error.strerror or error}; "
                "it is not recorded"
            ) from None
        if not self._announced:
            self._announced = True
            logger.warning(
                "the store %s stayed locked (%s): kept the %s in %s; it will be "
                "replayed into the store the next time the store is opened",
                self.store_name,
                reason,
                what,
                self.path,
            )
        return entry_id

    def entries(self) -> list[SpoolEntry]:
        """Every readable entry, oldest first (empty when there is no file)."""
        if not self._exists():
            return []
        with self._locked("r") as handle:
            return parse(handle.read())

    def messages_of(self, session_id: str) -> list[dict[str, Any]]:
        """The messages spooled for ``session_id``, in order (not yet in the store)."""
        found: list[dict[str, Any]] = []
        for entry in self.entries():
            if entry.kind == "messages" and entry.data.get("session_id") == session_id:
                found.extend(m for m in entry.data.get("messages", []) if isinstance(m, dict))
        return found

    def holds_session(self, session_id: str) -> bool:
        """Whether an entry for ``session_id`` waits here (later turns must queue behind it)."""
        return any(
            entry.kind != "usage" and entry.data.get("session_id") == session_id
            for entry in self.entries()
        )

    @contextmanager
    def claim(self) -> Iterator[tuple[list[SpoolEntry], _Clear]]:
        """Lock the file for a replay: its entries, and a function that empties it.

        Appends wait until the block ends, so nothing is added between reading the
        entries and emptying the file. Call the function only once the entries are
        committed to the database.
        """
        if not self._exists():
            yield [], _Clear(None)
            return
        with self._locked("r+") as handle:
            yield parse(handle.read()), _Clear(handle)

    def holds_entries(self) -> bool:
        """Whether anything waits here to be replayed (one ``stat``, the file not read)."""
        return self._exists()

    def _exists(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    @contextmanager
    def _locked(self, mode: Literal["a", "r", "r+"]) -> Iterator[IO[str]]:
        created = mode == "a" and not self.path.exists()
        if created:  # a server database's spool goes to the data folder, maybe not made yet
            self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = {"a": os.O_WRONLY | os.O_APPEND | os.O_CREAT, "r": os.O_RDONLY, "r+": os.O_RDWR}
        fd = os.open(self.path, flags[mode], 0o600)
        with os.fdopen(fd, mode, encoding="utf-8") as handle:
            if mode != "r":
                os.fchmod(fd, 0o600)  # also when an older file was made with a wider mode
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_SH if mode == "r" else fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        if created:
            _fsync_folder(self.path.parent)


class _Clear:
    """Empties a claimed spool file (see :meth:`Spool.claim`)."""

    def __init__(self, handle: IO[str] | None) -> None:
        self._handle = handle

    def __call__(self) -> None:
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        os.fsync(self._handle.fileno())


def parse(text: str) -> list[SpoolEntry]:
    """The entries in spool ``text``; lines that are not whole entries are skipped with a warning.

    Such a line can only be the torn end of an append cut short by a crash (a
    crash before the fsync, so that write was never reported as kept).
    """
    entries: list[SpoolEntry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            ok = (
                isinstance(item, dict)
                and item.get("v") == SPOOL_VERSION
                and isinstance(item.get("id"), str)
                and item.get("kind") in KINDS
                and isinstance(item.get("data"), dict)
            )
        except ValueError:
            ok = False
        if not ok:
            logger.warning("skipped line %d of the store's spool: not a spooled entry", number)
            continue
        entries.append(SpoolEntry(item["id"], item["kind"], item["data"]))
    return entries


def _fsync_folder(folder: Path) -> None:
    """Make a new file's name durable too (POSIX: fsync the folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)

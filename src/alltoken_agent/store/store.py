"""The :class:`Store`: one database, migrated when opened, with a repository per concern."""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType

from alltoken_agent.store.engine import Database
from alltoken_agent.store.media import MediaJobRepository
from alltoken_agent.store.migrations import applied_migrations, migrate
from alltoken_agent.store.replay import replay_spool
from alltoken_agent.store.sessions import SessionRepository


class Store:
    """alltoken-agent's persistence: sessions and their messages, in one database.

    Opening a store brings its schema up to date. The API is synchronous and
    thread-safe; async code calls it through :func:`asyncio.to_thread` where a call
    may wait (a SQLite write lock held by another process, a remote database).

    Data lives in repositories, one per concern: :attr:`sessions` now, the usage
    ledger and media jobs later.

    Example:
        ```python
        with Store() as store:
            session, _ = store.sessions.get_or_create_session("demo")
            store.sessions.append_messages(session.id, [{"role": "user", "content": "Hi"}])
        ```

    Args:
        url: Any SQLAlchemy URL (``sqlite:////path/file.db``,
            ``postgresql://user:password@host/db``); None means the SQLite file
            ``alltoken-agent.db`` in the data folder, which ``ALLTOKEN_AGENT_HOME``
            moves. The folder is created.
        wait: Seconds a write waits (retrying) for a database another process keeps
            locked; None reads ``ALLTOKEN_AGENT_STORE_WAIT``, else 15. A ledger row or
            a session turn still locked out after it goes to the spool file beside the
            database (:mod:`alltoken_agent.store.spool`) and is moved into the
            database when a store is next opened on it.

    Raises:
        ConfigError: The URL or the wait is invalid, the driver is missing, or the
            database cannot be opened or migrated (unreachable, locked too long, not
            a database).
    """

    def __init__(self, url: str | None = None, *, wait: float | None = None) -> None:
        self._db = Database(url, wait=wait)
        try:
            self.migrate()
            replay_spool(self._db)
        except BaseException:
            self._db.close()
            raise
        self._sessions = SessionRepository(self._db)

    @property
    def url(self) -> str:
        """The database URL, with any password replaced by ``***``."""
        return self._db.display_url

    @property
    def dialect(self) -> str:
        """The database backend: ``sqlite``, ``postgresql``, ..."""
        return self._db.dialect

    @property
    def sessions(self) -> SessionRepository:
        """Sessions and their messages."""
        return self._sessions

    def joined_writes(self) -> AbstractContextManager[bool]:
        """This thread's writes in the block as one transaction (see ``Database.joined_writes``).

        The value says whether the writes are joined at all.
        """
        return self._db.joined_writes()

    @property
    def media_jobs(self) -> MediaJobRepository:
        """The journal of image and video jobs (see :mod:`alltoken_agent.store.media`)."""
        return MediaJobRepository(self._db)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._db.closed

    def migrate(self) -> list[str]:
        """Apply pending migrations (the store does so when opened); idempotent.

        Returns:
            The names of the migrations this call applied.
        """
        with self._db.translate():
            return migrate(self._db)

    def applied_migrations(self) -> list[str]:
        """Return the names of the migrations recorded in the database, oldest first."""
        with self._db.translate():
            return applied_migrations(self._db)

    def close(self) -> None:
        """Release the database connections. Later calls raise ``UserError``."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"Store(url={self.url!r}{state})"

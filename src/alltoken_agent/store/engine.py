"""Database URLs, the engine, SQLite's pragmas and the transactions every query runs in.

:class:`Database` is what the rest of the store builds on: one thread-safe engine,
its masked URL, and :meth:`Database.read` / :meth:`Database.write` transactions that
translate SQLAlchemy errors at the boundary.

SQLite gets three things a file shared by several processes (a CLI and a server)
needs: WAL journaling so readers never block the writer, a busy timeout so a
writer waits for another's lock instead of failing at once, and ``BEGIN IMMEDIATE``
for write transactions so the lock is taken up front (a read lock upgraded to a
write lock mid-transaction fails with ``SQLITE_BUSY`` without waiting).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from alltoken_agent.errors import ConfigError, UserError
from alltoken_agent.paths import HOME_ENV, app_dirs
from alltoken_agent.store._errors import translate_errors

DEFAULT_FILENAME = "alltoken-agent.db"
"""Name of the SQLite file in the data folder when no URL is given."""

SQLITE_BUSY_TIMEOUT = 15.0
"""Seconds a SQLite connection waits for another connection's write lock before failing."""

_WRITE_OPTION = "alltoken_write"
"""Execution option marking a connection whose next BEGIN must take SQLite's write lock."""

_JSON_DIALECTS = frozenset({"sqlite", "postgresql", "mysql", "mariadb"})
"""Dialects whose ``create_engine`` accepts ``json_serializer``."""

# ensure_ascii=False keeps unicode readable in the SQLite file; allow_nan=False refuses
# NaN and Infinity, which are not JSON and which PostgreSQL's json type rejects anyway.
_json_dumps = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False)


def default_path() -> Path:
    """Return the default SQLite file: ``alltoken-agent.db`` in the data folder.

    ``ALLTOKEN_AGENT_HOME`` moves the data folder (see :mod:`alltoken_agent.paths`).
    """
    return app_dirs().data / DEFAULT_FILENAME


def mask_url(url: URL) -> str:
    """Render ``url`` as text with its password, if any, replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def _default_url() -> URL:
    path = default_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the data folder {path.parent}: {exc.strerror or exc}; "
            f"set {HOME_ENV} to a writable folder or pass a database URL"
        ) from exc
    return URL.create("sqlite", database=str(path))


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _create_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    options: dict[str, Any] = {}
    if backend in _JSON_DIALECTS:
        options["json_serializer"] = _json_dumps
    if _is_sqlite_memory(url):
        # One in-memory database for every thread: a single shared connection, so
        # Database serializes its use with a lock (see Database.begin).
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif backend == "sqlite":
        if "timeout" not in url.query:  # a timeout given in the URL wins
            options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT}
    else:
        options["pool_pre_ping"] = True  # survive a server restart between requests
    engine = sa.create_engine(url, **options)
    if backend == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: its legacy mode never
        # BEGINs before SELECT or DDL, which breaks transactional migrations.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            _enable_wal(cursor, engine.dialect.loaded_dbapi.OperationalError)
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL, fewer fsyncs
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _enable_wal(cursor: Any, busy_error: type[Exception]) -> None:
    """Switch the file to WAL, unless it already is (the mode is stored in the file).

    Switching needs an exclusive lock, and SQLite reports ``database is locked`` at
    once instead of calling the busy handler when several connections open a fresh
    file together; so retry here, within the connection's own busy timeout.
    """
    (timeout_ms,) = cursor.execute("PRAGMA busy_timeout").fetchone()
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() not in ("wal", "memory"):
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except busy_error as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class Database:
    """One database: its engine, masked URL and transactions.

    Thread-safe: each transaction checks out its own pooled connection. An in-memory
    SQLite database has a single connection, so its transactions take turns.

    Args:
        url: A SQLAlchemy URL, or None for the default SQLite file
            (:func:`default_path`; its folder is created).

    Raises:
        ConfigError: The URL is invalid or its driver is not installed.
    """

    def __init__(self, url: str | None) -> None:
        self.url = _default_url() if url is None else self._parse(url)
        self.display_url = mask_url(self.url)
        """The URL with its password masked: safe for messages, logs and reprs."""
        self._secret = self.url.password
        try:
            with self.translate():
                self.engine = _create_engine(self.url)
        except ImportError as exc:
            raise ConfigError(
                f"cannot use the database {self.display_url}: its driver "
                f"{exc.name or exc} is not installed; install it (for PostgreSQL: "
                "pip install 'alltoken-agent[postgres]') or choose another URL"
            ) from None
        self._turns: AbstractContextManager[Any] = (
            threading.RLock() if _is_sqlite_memory(self.url) else nullcontext()
        )
        self._closed = False

    @staticmethod
    def _parse(url: str) -> URL:
        try:
            return sa.make_url(url)
        except sa_exc.ArgumentError:
            # Not even parseable, so we cannot mask a password in it: name none of it.
            raise ConfigError(
                "invalid database URL (could not be parsed); use a SQLAlchemy URL such as "
                "sqlite:////absolute/path/alltoken-agent.db or postgresql://user@host/dbname"
            ) from None

    @property
    def dialect(self) -> str:
        """The backend's name: ``sqlite``, ``postgresql``, ..."""
        return self.url.get_backend_name()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def translate(self) -> AbstractContextManager[None]:
        """Return a context that turns SQLAlchemy errors into alltoken-agent errors."""
        return translate_errors(self.display_url, self._secret)

    @contextmanager
    def begin(self, *, write: bool) -> Iterator[Connection]:
        """Run the block in one transaction, raising raw SQLAlchemy errors.

        For code that inspects those errors itself (the migration race); everything
        else uses :meth:`read` or :meth:`write`.

        Args:
            write: Whether the block writes; on SQLite it then takes the write lock
                at BEGIN, waiting up to the busy timeout for another writer.
        """
        if self._closed:
            raise UserError(f"the store for {self.display_url} is closed; open a new Store")
        with self._turns, self.engine.connect() as conn:
            if write:
                conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Run the block in one read transaction; errors come out translated."""
        with self.translate(), self.begin(write=False) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Run the block in one write transaction, all or nothing; errors come out translated."""
        with self.translate(), self.begin(write=True) as conn:
            yield conn

    def close(self) -> None:
        """Close every pooled connection; later transactions raise ``UserError``."""
        self._closed = True
        self.engine.dispose()

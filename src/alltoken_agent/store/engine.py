"""Database URLs, the engine, SQLite's pragmas and the transactions every query runs in.

:class:`Database` is what the rest of the store builds on: one thread-safe engine,
its masked URL, and :meth:`Database.read` / :meth:`Database.write` transactions that
translate SQLAlchemy errors at the boundary.

SQLite gets three things a file shared by several processes (a CLI and a server)
needs: WAL journaling so readers never block the writer, a busy timeout so a
writer waits for another's lock instead of failing at once, and ``BEGIN IMMEDIATE``
for write transactions so the lock is taken up front (a read lock upgraded to a
write lock mid-transaction fails with ``SQLITE_BUSY`` without waiting).

How long a write waits for a lock is one setting, :data:`STORE_WAIT_ENV` (SQLite's
busy timeout, PostgreSQL's ``lock_timeout`` in :meth:`Database.write_retrying`).
Writes that record what was paid for retry within it and then go to the spool
(:mod:`.spool`) instead of failing.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import StaticPool

from alltoken_agent.errors import ConfigError, UserError
from alltoken_agent.paths import HOME_ENV, app_dirs
from alltoken_agent.store._errors import StoreBusyError, translate_errors
from alltoken_agent.store.spool import Spool, spool_path

DEFAULT_FILENAME = "alltoken-agent.db"
"""Name of the SQLite file in the data folder when no URL is given."""

SQLITE_BUSY_TIMEOUT = 15.0
"""Default seconds a write waits for another connection's lock before failing."""

STORE_WAIT_ENV = "ALLTOKEN_AGENT_STORE_WAIT"
"""Environment variable: seconds a write waits (and retries) for a locked store."""

MAX_STORE_WAIT = 3600.0
"""Upper bound for the wait, so a typo cannot hang every command for days."""

_MAX_WRITE_ATTEMPTS = 8
"""Bound on :meth:`Database.write_retrying`'s attempts, whatever the wait."""

T = TypeVar("T")

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


def store_wait(wait: float | None = None) -> float:
    """Seconds a write waits for a locked store: ``wait``, else :data:`STORE_WAIT_ENV`, else 15.

    Raises:
        ConfigError: The value is not a number of seconds from 0 to an hour.
    """
    if wait is None:
        raw = os.environ.get(STORE_WAIT_ENV, "").strip()
        if not raw:
            return SQLITE_BUSY_TIMEOUT
        try:
            wait = float(raw)
        except ValueError:
            wait = math.nan
        where = f"{STORE_WAIT_ENV}={raw[:40]!r}"
    else:
        where = f"a store wait of {wait!r}"
    if isinstance(wait, bool) or not math.isfinite(wait) or not 0 <= wait <= MAX_STORE_WAIT:
        raise ConfigError(
            f"{where} is not a number of seconds from 0 to {MAX_STORE_WAIT:.0f}; "
            f"fix it or unset {STORE_WAIT_ENV} for the default of {SQLITE_BUSY_TIMEOUT:.0f}"
        )
    return float(wait)


def _create_engine(url: URL, wait: float = SQLITE_BUSY_TIMEOUT) -> Engine:
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
            options["connect_args"] = {"timeout": wait}
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

    dbapi = engine.dialect.loaded_dbapi

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        sql = "BEGIN IMMEDIATE" if write else "BEGIN"
        # On the driver itself: a statement through SQLAlchemy's execution costs ten
        # times SQLite's own work here, twice per server turn (bench/store_turns.py).
        # A failure (the write lock not free within the busy timeout) comes out as
        # SQLAlchemy's own error, as it did, so the store translates it alike.
        try:
            conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
        except dbapi.Error as error:
            raise sa_exc.DBAPIError.instance(sql, (), error, dbapi.Error) from error


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


class PartialWritesError(RuntimeError):
    """A block nested in :meth:`Database.joined_writes` raised, so none of its writes stayed.

    The outer block's transaction was rolled back rather than committed with the failed
    block's writes half done.
    """


class Database:
    """One database: its engine, masked URL and transactions.

    Thread-safe: each transaction checks out its own pooled connection. An in-memory
    SQLite database has a single connection, so its transactions take turns.

    Args:
        url: A SQLAlchemy URL, or None for the default SQLite file
            (:func:`default_path`; its folder is created).
        wait: Seconds a write waits for a locked database (see :func:`store_wait`).

    Raises:
        ConfigError: The URL or the wait is invalid, or the URL's driver is not installed.
    """

    def __init__(self, url: str | None, *, wait: float | None = None) -> None:
        self.wait = store_wait(wait)
        """Seconds a write waits for a lock held by another connection."""
        self.url = _default_url() if url is None else self._parse(url)
        self.display_url = mask_url(self.url)
        """The URL with its password masked: safe for messages, logs and reprs."""
        self._secret = self.url.password
        path = spool_path(self.url)
        self.spool = None if path is None else Spool(path, self.display_url)
        """Where recorded writes wait while the database stays locked; None in memory."""
        try:
            with self.translate():
                self.engine = _create_engine(self.url, self.wait)
        except ImportError as exc:
            raise ConfigError(
                f"cannot use the database {self.display_url}: its driver "
                f"{exc.name or exc} is not installed; install it (for PostgreSQL: "
                "pip install 'alltoken-agent[postgres]') or choose another URL"
            ) from None
        self._turns: AbstractContextManager[Any] = (
            threading.RLock() if _is_sqlite_memory(self.url) else nullcontext()
        )
        self._joined = threading.local()
        """This thread's open :meth:`joined_writes` transaction, if any (``.conn``), and
        whether a nested block of it raised (``.failed``)."""
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
        joined: Connection | None = getattr(self._joined, "conn", None)
        if write and joined is not None:  # inside joined_writes: its transaction
            yield joined
            return
        with self._turns, self.engine.connect() as conn:
            if write:
                conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def joined_writes(self) -> Iterator[bool]:
        """Run the block's writes on this thread in one transaction, committed at its end.

        Each commit of a SQLite file writes its pages and takes its locks again: a
        server turn saved with its ledger rows costs one commit instead of two. Only
        for a SQLite file, whose ``BEGIN IMMEDIATE`` holds the write lock for the whole
        block, so no write inside can find the database busy and take a path of its own
        (the spool) that a rollback would not undo; elsewhere each write keeps its own
        transaction. The same while the spool holds entries: a session with a turn
        there queues its next turn there too, and a failed commit would leave that
        append behind for the unjoined retry to make again. The block raising rolls
        all of it back.

        Nested in another joined block, the block joins its transaction; if it raises,
        that transaction is rolled back at its end instead of committed (the block's
        writes may be half done), and the outer block raises ``PartialWritesError``.
        The server's writer thread runs several turns' writes in one transaction and,
        when that happens, each of them again on its own (``server/_writer.py``).

        Yields:
            Whether the block's writes are joined; False where each write keeps its own
            transaction.

        Raises:
            StoreBusyError: The write lock was not free within the wait (nothing ran).
            PartialWritesError: A nested block raised (nothing was written).
        """
        state = self._joined
        if getattr(state, "conn", None) is not None:
            try:
                yield True
            except BaseException:
                state.failed = True
                raise
            return
        if self.dialect != "sqlite" or self.spool is None or self.spool.holds_entries():
            yield False
            return
        with self.translate(), self.begin(write=True) as conn:
            state.conn, state.failed = conn, False
            try:
                yield True
                if state.failed:  # raised inside begin(): rolled back, not committed
                    raise PartialWritesError(
                        "a nested block of joined writes failed; none of them was written"
                    )
            finally:
                state.conn = None

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

    def write_retrying(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retried while the database is busy.

        For writes that record what was paid for. A lock held by another connection
        (SQLite's write lock, a PostgreSQL row lock, serialization failure or
        deadlock) makes the attempt fail after waiting; it is retried with jittered
        backoff until :attr:`wait` seconds have passed (SQLite's busy timeout is the
        same wait, so in practice one long attempt) or after a few attempts.

        Raises:
            StoreBusyError: Still locked when the wait ran out.
            ConfigError: Any other database failure (translated, not retried).
        """
        deadline = time.monotonic() + self.wait
        pause = 0.05
        for attempt in range(1, _MAX_WRITE_ATTEMPTS + 1):
            try:
                with self.translate(), self.begin(write=True) as conn:
                    if self.dialect == "postgresql":
                        # 0 would mean "wait forever"; the rest of the wait, at least 1 ms.
                        left = max(1, int((deadline - time.monotonic()) * 1000))
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {left}")
                    return work(conn)
            except StoreBusyError:
                left_s = deadline - time.monotonic()
                if left_s <= 0 or attempt == _MAX_WRITE_ATTEMPTS:
                    raise
                time.sleep(min(random.uniform(0, pause), left_s))
                pause = min(pause * 2, 1.0)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        """Close every pooled connection; later transactions raise ``UserError``."""
        self._closed = True
        self.engine.dispose()

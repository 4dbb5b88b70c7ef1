"""A few hot statements compiled once for SQLite and run on the driver's own cursor.

Under a server's load, a turn's store work was mostly SQLAlchemy's per-execution
machinery (execution context, parameter and result set-up, events), about ten times
what SQLite itself spent running the same statements (``bench/store_turns.py``). The
statements keep their SQLAlchemy definition, the one place their SQL and column types
are written; they are compiled once per dialect, and each run binds its values through
the column types' own processors (the JSON serializer the engine was made with, the
UTC timestamps of :class:`~alltoken_agent.store.schema.UTCDateTime`) and calls the
driver directly, inside the transaction the :class:`~sqlalchemy.engine.Connection`
opened. Errors come out as SQLAlchemy's own (a value the types cannot store:
``StatementError``; a driver failure: ``DBAPIError``), so the store translates them as
before.

Only for the standard library's ``sqlite3`` driver: its positional ``?`` parameters
need no rewriting, and a write transaction there holds the database's write lock from
``BEGIN IMMEDIATE`` on. Other databases keep SQLAlchemy's ordinary execution.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Final, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

_REQUIRED: Final = object()
"""A bind parameter without a default: the caller must give it."""

Processor = Callable[[Any], Any]

MAX_VALUES: Final = 999
"""Values at most bound to one multi-row INSERT (:meth:`DriverStatement.many`): what
SQLite builds before 3.32 allow (32766 since)."""

T = TypeVar("T")


def driver_dialect(conn: Connection) -> Dialect | None:
    """The connection's dialect when it runs on the ``sqlite3`` driver, else None."""
    dialect = conn.dialect
    return dialect if dialect.name == "sqlite" and dialect.driver == "pysqlite" else None


class DriverStatement:
    """One statement compiled for one SQLite dialect, run on the driver's cursor.

    Args:
        statement: The statement, with named bind parameters.
        dialect: The engine's dialect (its JSON serializer is the engine's own).
        columns: The columns the statement returns, in order, for their result types.
    """

    def __init__(
        self,
        statement: sa.ClauseElement,
        dialect: Dialect,
        columns: Sequence[sa.ColumnElement[Any]] = (),
    ) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # a DML or SELECT statement
        self.sql = compiled.string
        self._binds: list[tuple[str, Any, Processor | None]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            default = _REQUIRED if bind.required else bind.effective_value
            self._binds.append((name, default, _bind_processor(bind.type, dialect)))
        self._results = [_result_processor(column.type, dialect) for column in columns]
        self._error: type[Exception] = dialect.loaded_dbapi.Error
        """The driver module's base error (the one SQLAlchemy loaded, not assumed)."""
        head, values, group = self.sql.rpartition(" VALUES ")
        one_row = values and group == "(" + ", ".join("?" * len(self._binds)) + ")"
        self._insert: tuple[str, str] | None = (head + values, group) if one_row else None
        """A one-row INSERT's SQL before its values, and its values' group (else None)."""
        self._sql_of: dict[int, str] = {}
        """The INSERT's SQL for a number of rows (see :meth:`many`)."""

    def _bound(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out: list[Any] = []
        try:
            for name, default, process in self._binds:
                value = values[name] if default is _REQUIRED else values.get(name, default)
                out.append(value if process is None else process(value))
        except (TypeError, ValueError, OverflowError) as error:
            # As SQLAlchemy reports a value its types cannot convert (a message JSON
            # cannot represent): the store turns this into its UserError.
            raise sa_exc.StatementError(str(error), self.sql, None, error) from error
        return tuple(out)

    def _cursor(self, conn: Connection) -> sqlite3.Cursor:
        driver: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        return driver.cursor()

    def _run(self, conn: Connection, run: Callable[[sqlite3.Cursor], Any], params: Any) -> Any:
        cursor = self._cursor(conn)
        try:
            return run(cursor)
        except self._error as error:
            raise sa_exc.DBAPIError.instance(self.sql, params, error, self._error) from error
        finally:
            cursor.close()

    def first(self, conn: Connection, values: Mapping[str, Any]) -> list[Any] | None:
        """Run it; its first row, each column through its result type (None: no row).

        Not drained: SQLite makes all of a RETURNING statement's changes in its first step
        (closing the cursor then resets it), and each step lets the GIL go, which under
        load the store's writer thread waits to get back (``server/_writer.py``).
        """
        params = self._bound(values)
        row = self._run(conn, lambda cursor: cursor.execute(self.sql, params).fetchone(), params)
        if row is None:
            return None
        return [
            value if process is None else process(value)
            for value, process in zip(row, self._results, strict=True)
        ]

    def value(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run a query of one row (an aggregate's); its first column, through its type.

        One fetch, not drained, as :meth:`first`.
        """
        params = self._bound(values)
        row = self._run(conn, lambda cursor: cursor.execute(self.sql, params).fetchone(), params)
        process = self._results[0]
        value = None if row is None else row[0]
        return value if process is None else process(value)

    def count(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run it; how many rows it changed."""
        params = self._bound(values)
        changed = self._run(conn, lambda cursor: cursor.execute(self.sql, params).rowcount, params)
        return int(changed)

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per row of values.

        A one-row INSERT goes as one statement of all the rows (``VALUES (...), (...)``),
        in parts of at most :data:`MAX_VALUES` values: ``executemany`` steps the driver
        once per row and resets it after each, and each of those lets the GIL go, which
        under load the store's writer thread waits to get back (``server/_writer.py``).
        """
        params = [self._bound(values) for values in rows]
        if self._insert is None or len(params) == 1:
            self._run(conn, lambda cursor: cursor.executemany(self.sql, params), params)
            return
        size = max(1, MAX_VALUES // len(self._binds))
        for start in range(0, len(params), size):
            part = params[start : start + size]
            flat = [value for row in part for value in row]
            self._run(conn, partial(_execute, self._rows_sql(len(part)), flat), flat)

    def _rows_sql(self, count: int) -> str:
        sql = self._sql_of.get(count)
        if sql is None:
            assert self._insert is not None
            head, group = self._insert
            sql = self._sql_of[count] = head + ", ".join([group] * count)
        return sql


def _execute(sql: str, params: Sequence[Any], cursor: sqlite3.Cursor) -> None:
    cursor.execute(sql, params)


def _bind_processor(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Processor | None:
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _result_processor(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Processor | None:
    return type_.dialect_impl(dialect).result_processor(dialect, None)


class DriverStatements(Generic[T]):
    """Statements compiled lazily, once per dialect (one per engine), by a builder.

    Args:
        build: Makes the statements for a dialect (a dict, a dataclass, ...).
    """

    def __init__(self, build: Callable[[Dialect], T]) -> None:
        self._build = build
        self._made: weakref.WeakKeyDictionary[Dialect, T] = weakref.WeakKeyDictionary()

    def of(self, conn: Connection) -> T | None:
        """The statements for the connection's dialect; None when it is not ``sqlite3``'s."""
        dialect = driver_dialect(conn)
        if dialect is None:
            return None
        made = self._made.get(dialect)
        if made is None:
            made = self._made[dialect] = self._build(dialect)
        return made


def execute_rows(conn: Connection, statement: sa.Insert, rows: list[dict[str, Any]]) -> None:
    """Run ``statement`` for ``rows``; a value JSON cannot hold fails as on every database.

    SQLAlchemy encodes a JSON column's values itself on SQLite and reports a failure as
    its ``StatementError`` (which the store turns into a ``UserError``); psycopg encodes
    them in the driver, where the failure came out as a bare ``TypeError``.
    """
    try:
        conn.execute(statement, rows)
    except (TypeError, ValueError) as error:
        raise sa_exc.StatementError(str(error), str(statement), None, error) from error

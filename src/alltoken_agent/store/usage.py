"""The ``usage`` table (migration ``m004_usage``) and its repository: one row per request.

Money is stored as exact decimal text (:class:`DecimalText`), never as a float: SQLite
has no exact numeric type, and the gateway's cost comment carries 10 fractional digits
that must come back to the last one. So a plain SQL ``SUM`` over the column (a float)
is never used: :mod:`.usage_sums` sums exactly in SQL.

Ownership follows the session repository: ``owner=None`` in a query means the local
owner (rows with no owner), not "any owner".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from alltoken_agent.store._driver_sql import DriverStatement, DriverStatements, execute_rows
from alltoken_agent.store._errors import StoreBusyError
from alltoken_agent.store.engine import Database
from alltoken_agent.store.records import check_limit
from alltoken_agent.store.schema import NAME_LENGTH, UTCDateTime, metadata

if TYPE_CHECKING:
    from alltoken_agent.store.store import Store

CostSource = Literal["gateway", "estimated", "unknown"]
"""Where a cost came from: the gateway's own report, our estimate from prices, or nowhere."""

COST_LENGTH = 64
"""Room for a decimal cost as text: far more digits than any price or sum needs."""


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """An exact decimal stored as text (``0.0000188000``), read back as the same ``Decimal``.

    The text keeps every digit and the exponent, so ``Decimal`` equality and the
    printed form both survive the round trip on every backend.
    """

    impl = sa.String(COST_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Write a finite ``Decimal`` as plain (non-scientific) decimal text."""
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"a cost must be a finite Decimal, not {value!r}")
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Read the text back as a ``Decimal``."""
        if value is None:
            return None
        try:
            return Decimal(str(value))
        except InvalidOperation:  # pragma: no cover - only our writer fills the column
            raise ValueError(
                f"the usage table holds a cost that is not a number: {value!r}"
            ) from None


usage = sa.Table(
    "usage",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("provider", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("model", sa.String(NAME_LENGTH)),
    sa.Column("session", sa.String(NAME_LENGTH)),
    sa.Column("owner", sa.String(NAME_LENGTH)),
    sa.Column("request_id", sa.String(NAME_LENGTH)),
    sa.Column("stream", sa.Boolean(), nullable=False),
    sa.Column("prompt_tokens", sa.Integer()),
    sa.Column("completion_tokens", sa.Integer()),
    sa.Column("reasoning_tokens", sa.Integer()),
    sa.Column("cached_tokens", sa.Integer()),
    sa.Column("cost", DecimalText()),
    sa.Column("cost_source", sa.String(16), nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("latency_ms", sa.Integer()),
    sa.Column("ttft_ms", sa.Integer()),
    sa.Column("outcome", sa.String(NAME_LENGTH), nullable=False),
    sa.Column("status", sa.Integer()),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("extra", sa.JSON(), nullable=False),
    sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()),
)
"""Gateway requests (m004_usage, m005_usage_simulated): tokens, cost, outcome, session, owner.

Mirrors the migration; it belongs in :mod:`.schema` with the other tables and lives
here only until that module is next edited.
"""


@dataclass(frozen=True)
class UsageRow:
    """One request in the ledger, as stored."""

    created_at: datetime
    """When the request was sent (aware, UTC)."""
    kind: str
    """``chat``, ``image`` or ``video``."""
    provider: str
    model: str | None
    session: str | None
    """The ``session`` request tag, when one was set."""
    owner: str | None
    """The ``owner`` request tag (a server key's id); None for local use."""
    request_id: str | None
    stream: bool
    prompt_tokens: int | None
    """None when the gateway reported no usage (as for most failures)."""
    completion_tokens: int | None
    reasoning_tokens: int | None
    cached_tokens: int | None
    cost: Decimal | None
    """USD, exact; None when unknown (never a made-up zero)."""
    cost_source: CostSource
    currency: str = "USD"
    latency_ms: int | None = None
    ttft_ms: int | None = None
    outcome: str = "ok"
    """``ok``, ``cancelled`` or the gateway's error code."""
    status: int | None = None
    """HTTP status of a failure; None for a success."""
    attempts: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific facts (a media job's id, image count, video seconds)."""
    simulated: bool = False
    """Made against the offline simulator: the cost is the simulator's, not money."""
    id: int | None = None
    """Assigned when stored; None on a row not yet written."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the cost stays a decimal string so no digit is lost."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["created_at"] = self.created_at.isoformat()
        data["cost"] = None if self.cost is None else format(self.cost, "f")
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRow:
        """The row :meth:`to_dict` made (as the spool keeps it), without its id.

        Raises:
            ValueError: A field is missing or not of its type.
        """
        names = {f.name for f in fields(cls)} - {"id"}
        values = {name: data[name] for name in names if name in data}
        values["created_at"] = datetime.fromisoformat(str(data["created_at"]))
        if values["created_at"].tzinfo is None:
            raise ValueError("a usage row's created_at must carry its timezone")
        cost = data.get("cost")
        try:
            values["cost"] = None if cost is None else Decimal(str(cost))
        except InvalidOperation:
            values["cost"] = Decimal("NaN")
        if values["cost"] is not None and not values["cost"].is_finite():
            raise ValueError(f"a usage row's cost must be a finite decimal, not {cost!r}")
        values["extra"] = dict(data.get("extra") or {})
        return cls(**values)


class CostFacts(NamedTuple):
    """The few columns reports and spend totals read, without the rest of the row."""

    created_at: datetime
    model: str | None
    session: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: Decimal | None


@dataclass(frozen=True)
class UsageQuery:
    """Which rows to read. ``session``/``model`` None mean any; ``owner`` None means local.

    Real and simulated rows are never read together: ``simulated`` picks one of them.
    """

    since: datetime | None = None
    """Inclusive lower bound on ``created_at`` (aware)."""
    until: datetime | None = None
    """Exclusive upper bound on ``created_at`` (aware)."""
    session: str | None = None
    owner: str | None = None
    model: str | None = None
    simulated: bool = False

    def condition(self, *, indexed: bool = True) -> sa.ColumnElement[bool]:
        """The WHERE clause for these filters.

        ``indexed=False`` (SQLite only) writes each column as ``+column``, which keeps
        SQLite from using an index for it: reading most of a large table through an
        index costs several times a plain scan.
        """
        c = usage.c
        owner, simulated, created_at, session, model = (
            (c.owner, c.simulated, c.created_at, c.session, c.model)
            if indexed
            else (
                _unindexed(c.owner),
                _unindexed(c.simulated),
                _unindexed(c.created_at),
                _unindexed(c.session),
                _unindexed(c.model),
            )
        )
        parts: list[sa.ColumnElement[bool]] = [
            owner.is_(None) if self.owner is None else owner == self.owner,
            simulated == self.simulated,
        ]
        if self.since is not None:
            parts.append(created_at >= self.since)
        if self.until is not None:
            parts.append(created_at < self.until)
        if self.session is not None:
            parts.append(session == self.session)
        if self.model is not None:
            parts.append(model == self.model)
        return sa.and_(*parts)


def _unindexed(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """``+usage.column``: the same value, which SQLite will not look up in an index."""
    return sa.literal_column(f"+{column.table.name}.{column.name}", column.type)


_ROW_COLUMNS = [column for column in usage.c if column.name != "id"]


class UsageRepository:
    """The ``usage`` rows of one database. Thread-safe; synchronous; one transaction per call."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def of(cls, store: Store) -> UsageRepository:
        """The usage rows of an open :class:`~alltoken_agent.store.Store`."""
        # Same package: the store hands its Database to its own repositories.
        return cls(store._db)

    def add(self, row: UsageRow) -> UsageRow:
        """Store ``row`` (its ``id`` is ignored) and return it with its new id.

        A paid request's row is never dropped because another process holds the
        database: the write is retried for the store's wait, then the row goes to
        the spool (:mod:`.spool`) and is returned with ``id`` None; the next store
        opened on this database moves it into the table.

        Raises:
            StoreBusyError: Still locked and there is no spool (in-memory database).
        """
        try:
            new_id = self._db.write_retrying(lambda conn: insert_row(conn, row))
        except StoreBusyError as error:
            if self._db.spool is None:
                raise
            self._db.spool.append("usage", row.to_dict(), reason=error.cause)
            return replace(row, id=None)
        return replace(row, id=new_id)

    def add_many(self, rows: list[UsageRow]) -> None:
        """Store ``rows`` (their ``id`` ignored) in one transaction: all, or all spooled.

        As :meth:`add` for each row, but one insert for the lot: a server writing many
        requests' rows at once pays one transaction, not one per row.

        Raises:
            StoreBusyError: Still locked and there is no spool (in-memory database).
        """
        if not rows:
            return
        values = [_insert_values(row) for row in rows]
        try:
            self._db.write_retrying(lambda conn: _insert_many(conn, values))
        except StoreBusyError as error:
            if self._db.spool is None:
                raise
            for row in rows:
                self._db.spool.append("usage", row.to_dict(), reason=error.cause)

    def rows(
        self, query: UsageQuery, *, newest_first: bool = False, limit: int | None = None
    ) -> list[UsageRow]:
        """Return the matching rows, oldest first (or newest first), at most ``limit``."""
        if limit is not None:
            check_limit(limit)
        order = (
            (usage.c.created_at.desc(), usage.c.id.desc())
            if newest_first
            else (
                usage.c.created_at,
                usage.c.id,
            )
        )
        statement = sa.select(usage).where(query.condition()).order_by(*order)
        if limit is not None:
            statement = statement.limit(limit)
        with self._db.read() as conn:
            return [_row(mapping._mapping) for mapping in conn.execute(statement)]

    def cost_facts(self, query: UsageQuery) -> list[CostFacts]:
        """Return the columns totals and reports need, for the matching rows, oldest first."""
        c = usage.c
        statement = (
            sa.select(
                c.created_at, c.model, c.session, c.prompt_tokens, c.completion_tokens, c.cost
            )
            .where(query.condition())
            .order_by(c.created_at, c.id)
        )
        with self._db.read() as conn:
            return [CostFacts(*row) for row in conn.execute(statement)]


def insert_row(conn: Connection, row: UsageRow) -> int:
    """Insert ``row`` (its ``id`` ignored) in the open transaction; return its new id."""
    result = conn.execute(sa.insert(usage).values(_insert_values(row)))
    (new_id,) = result.inserted_primary_key or (None,)
    if new_id is None:  # pragma: no cover - every supported backend reports the key
        raise RuntimeError("the database did not report the id of the new usage row")
    return int(new_id)


_DRIVER_INSERT: Final = DriverStatements(
    lambda dialect: DriverStatement(
        sa.insert(usage).values({c.name: sa.bindparam(c.name) for c in _ROW_COLUMNS}), dialect
    )
)
"""The insert on SQLite's driver cursor (``._driver_sql``): a server message's row rides
in its turn's save, where SQLAlchemy's execution cost several times SQLite's insert."""


def _insert_many(conn: Connection, values: list[dict[str, Any]]) -> None:
    driver = _DRIVER_INSERT.of(conn)
    if driver is None:
        execute_rows(conn, sa.insert(usage), values)  # bad JSON: the store's error here too
    else:
        driver.many(conn, values)


def _insert_values(row: UsageRow) -> dict[str, Any]:
    values = {column.name: getattr(row, column.name) for column in _ROW_COLUMNS}
    values["extra"] = dict(row.extra)
    return values


def _row(mapping: Mapping[Any, Any]) -> UsageRow:
    values = dict(mapping)
    values["extra"] = dict(values.get("extra") or {})
    values["stream"] = bool(values["stream"])
    values["simulated"] = bool(values["simulated"])
    return UsageRow(**values)

"""The one boundary where SQLAlchemy and driver exceptions become alltoken-agent errors.

Every public entry point of the store runs inside :func:`translate_errors`, so no
SQLAlchemy exception reaches a caller (one translation boundary per layer, as httpx's
``map_httpcore_exceptions`` is). Error texts name the database by its masked URL and
never contain its password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from alltoken_agent.errors import AllTokenAgentError, ConfigError, UserError

_HINTS = (
    (
        ("locked", "busy"),
        "another process kept the database locked for longer than the busy timeout; "
        "try again, or stop the other process",
    ),
    (
        ("unable to open", "readonly", "read-only", "permission denied"),
        "check that the folder exists and that this user may write to it",
    ),
    (
        ("not a database", "malformed", "corrupt"),
        "the file is damaged or is not a SQLite database; move it aside to start a new one",
    ),
)
_DEFAULT_HINT = "check the URL, that the database is reachable and that its user has access"


class WriteConflictError(UserError):
    """A write broke a uniqueness or foreign-key rule of the database.

    The store catches it where a conflict has a better explanation (a duplicate
    session name, a race it can resolve); anywhere else it reaches the caller as a
    plain :class:`~alltoken_agent.errors.UserError`.
    """


class StoreBusyError(ConfigError):
    """Another connection kept what a write needs locked for longer than the store waits.

    Raised after the store's bounded retries (see ``Database.write_retrying``); the
    ledger and session writes then keep their data in the spool instead
    (:mod:`alltoken_agent.store.spool`).

    Args:
        message: The whole message (database, cause, next step).
        cause: The driver's own words (``database is locked``), password-free.
    """

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


_BUSY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
"""PostgreSQL's serialization_failure, deadlock_detected and lock_not_available: retryable."""


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means another connection held a lock we needed (worth retrying).

    SQLite says ``database is locked`` (or ``... table is locked``, ``busy``) once its
    busy timeout ran out; PostgreSQL gives a SQLSTATE for a lost serialization race, a
    deadlock victim or a ``lock_timeout`` that ran out.
    """
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str):
        return state in _BUSY_SQLSTATES
    if isinstance(exc, sa_exc.OperationalError):
        text = cause_text(exc, None).lower()
        return "locked" in text or "busy" in text
    return False


def cause_text(exc: BaseException, secret: str | None) -> str:
    """Return the driver's own words for ``exc`` (not SQLAlchemy's SQL dump), minus ``secret``."""
    orig = getattr(exc, "orig", None)
    source = orig if isinstance(orig, BaseException) else exc
    text = str(source.args[0]) if source.args else type(source).__name__
    if secret:
        text = text.replace(secret, "***")
    return text


def hint_for(cause: str) -> str:
    """Return the next step a user can take for a database failure described by ``cause``."""
    lowered = cause.lower()
    for needles, hint in _HINTS:
        if any(needle in lowered for needle in needles):
            return hint
    return _DEFAULT_HINT


def translate(exc: BaseException, display_url: str, secret: str | None) -> AllTokenAgentError:
    """Map a SQLAlchemy exception raised while using ``display_url`` to one of our errors."""
    cause = cause_text(exc, secret)
    if is_busy(exc):
        return StoreBusyError(
            f"database error at {display_url}: {cause}; {hint_for(cause)}", cause=cause
        )
    if isinstance(exc, sa_exc.IntegrityError):
        return WriteConflictError(
            f"the change conflicts with data already in {display_url}: {cause}"
        )
    if isinstance(exc, sa_exc.DBAPIError):
        return ConfigError(f"database error at {display_url}: {cause}; {hint_for(cause)}")
    if isinstance(exc, sa_exc.StatementError):
        # Raised before the driver saw anything: a bind value could not be converted,
        # in practice a message or metadata value that JSON cannot represent.
        return UserError(
            f"a value could not be stored in {display_url}: {cause}; messages and metadata "
            "must be JSON-serialisable (str, int, float, bool, None, lists and dicts)"
        )
    if isinstance(exc, sa_exc.ArgumentError):
        return ConfigError(
            f"invalid database URL {display_url}: {cause}; use a SQLAlchemy URL such as "
            "sqlite:////absolute/path/alltoken-agent.db or postgresql://user@host/dbname"
        )
    return ConfigError(f"database error at {display_url}: {cause}; {_DEFAULT_HINT}")


@contextmanager
def translate_errors(display_url: str, secret: str | None) -> Iterator[None]:
    """Re-raise any SQLAlchemy exception from the block as an alltoken-agent error.

    Args:
        display_url: The database URL with its password masked, for the message.
        secret: The real password, scrubbed from driver messages that echo it.
    """
    try:
        yield
    except sa_exc.SQLAlchemyError as exc:
        error = translate(exc, display_url, secret)
        # Keep the original as the cause for debugging unless its text holds the secret.
        leaks = bool(secret and secret in str(exc))
        raise error from (None if leaks else exc)

"""The registry of migrations: every one, by name, in the order it must run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from sqlalchemy.engine import Connection

MigrationFunction: TypeAlias = Callable[[Connection], None]
Migration: TypeAlias = tuple[str, MigrationFunction]

MIGRATIONS: list[Migration] = []
"""Every migration, in the order it must run: ``(name, function(connection))``."""


def migration(function: MigrationFunction) -> MigrationFunction:
    """Register ``function`` as a migration, under its own name, in ``mNNN`` order."""
    name = function.__name__
    if any(known == name for known, _ in MIGRATIONS):
        raise RuntimeError(f"migration {name} is defined twice")
    MIGRATIONS.append((name, function))
    # Numbers are handed out ahead of time, so a lower number (m003) may be merged
    # below a higher one (m004) in the files: the name, not the position, sets the order.
    MIGRATIONS.sort(key=lambda entry: entry[0])
    return function

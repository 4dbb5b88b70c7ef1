"""Append-only, named schema migrations, recorded in ``schema_migrations``.

The pattern of simonw/llm's ``llm/migrations.py``: every change to the schema is one
function, registered in order with :func:`migration` and recorded by name once it has
run. :func:`migrate` applies each pending one in its own transaction, so a failure
leaves neither half a change nor a record of it.

To change the schema (the ledger's ``usage`` table, the media ``media_jobs`` table,
a new column):

1. append a new function, named ``mNNN_what_it_does`` with the next number, taking
   the open :class:`~sqlalchemy.engine.Connection` and decorated with
   :func:`migration`, at the end of the module of its concern (:mod:`.conversations`,
   :mod:`.media`, :mod:`.usage`, :mod:`.journals`, :mod:`.server`; a new module is
   imported below);
2. define the tables it touches inline, with their own ``MetaData``, as they are
   at that point in history (never import them from :mod:`.schema`, which moves on);
3. mirror the resulting shape in :mod:`.schema` for queries.

Never edit, rename, reorder or delete a migration that has shipped: databases out
there have recorded it by name and will not run it again.
"""

from __future__ import annotations

# Imported for their effect: each module registers its migrations, in this order.
from alltoken_agent.store.migrations import (  # noqa: F401
    conversations,
    journals,
    media,
    server,
    usage,
)
from alltoken_agent.store.migrations.registry import (
    MIGRATIONS,
    Migration,
    MigrationFunction,
    migration,
)
from alltoken_agent.store.migrations.runner import applied_migrations, migrate

__all__ = [
    "MIGRATIONS",
    "Migration",
    "MigrationFunction",
    "applied_migrations",
    "migrate",
    "migration",
]

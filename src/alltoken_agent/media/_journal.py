"""The media job journal as async code uses it: the store's repository, off the event loop.

The journal lives in the store given to ``Media(gateway, store)``; made without one, it
opens the default ``Store()`` on its first media job and closes it when the journal is
garbage-collected (the gateway never holds a store: ``gateway/`` knows nothing of media).

Lookups are scoped to one owner, as in the store: ``owner=None`` is the local owner
(the CLI's and the library's default), a server passes its caller's key id. Updates
take a job id alone: the caller resolved the job with its owner first.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

from alltoken_agent.store import Store
from alltoken_agent.store.media import (
    MediaJobRecord,
    MediaJobRepository,
    MediaJobStatus,
    MediaKind,
)


class Journal:
    """Async wrappers over :class:`~alltoken_agent.store.media.MediaJobRepository`."""

    def __init__(self, store: Store | None = None) -> None:
        """Journal in ``store``; None opens the default ``Store()`` on first use."""
        self._store = store

    @property
    def store(self) -> Store:
        """The store, opening the default one on first use."""
        store = self._store
        if store is None:
            # Synchronous on purpose: no await between the check and the assignment, so
            # two jobs started together on one event loop cannot open two stores.
            store = self._store = Store()
            weakref.finalize(self, store.close)
        return store

    @property
    def repository(self) -> MediaJobRepository:
        """The store's media job table."""
        return self.store.media_jobs

    async def create(self, **fields: Any) -> MediaJobRecord:
        """Journal a new job (status ``submitting``); see ``MediaJobRepository.create``."""
        return await asyncio.to_thread(lambda: self.repository.create(**fields))

    async def update(self, job_id: str, **changes: Any) -> MediaJobRecord:
        """Change fields of a job; see ``MediaJobRepository.update``."""
        return await asyncio.to_thread(lambda: self.repository.update(job_id, **changes))

    async def get(self, job_id: str, *, owner: str | None = None) -> MediaJobRecord | None:
        """``owner``'s job with this id."""
        return await asyncio.to_thread(lambda: self.repository.get(job_id, owner=owner))

    async def take_lease(
        self, job_id: str, holder: str, seconds: float, steal_from: str | None = None
    ) -> MediaJobRecord:
        """Lease the job to ``holder``; see ``MediaJobRepository.take_lease``."""
        return await asyncio.to_thread(
            lambda: self.repository.take_lease(job_id, holder, seconds, steal_from=steal_from)
        )

    async def find(self, job_or_task_id: str, *, owner: str | None = None) -> MediaJobRecord | None:
        """``owner``'s job with this id, else their newest with this gateway task id."""
        return await asyncio.to_thread(lambda: self.repository.find(job_or_task_id, owner=owner))

    async def median_seconds(self, kind: MediaKind, model: str) -> float | None:
        """Median completion time of the model's recent jobs (None without any)."""
        return await asyncio.to_thread(self.repository.median_seconds, kind, model)

    async def unfinished(
        self, kind: MediaKind | None = None, *, owner: str | None = None
    ) -> list[MediaJobRecord]:
        """``owner``'s jobs still ``submitting`` or ``pending``, oldest first."""
        return await asyncio.to_thread(lambda: self.repository.unfinished(owner=owner, kind=kind))

    async def finish(
        self,
        job_id: str,
        status: MediaJobStatus,
        *,
        error_code: str | None = None,
        error: str | None = None,
        **changes: Any,
    ) -> MediaJobRecord:
        """Move a job to a final status, with the error that ended it (if any)."""
        return await self.update(
            job_id, status=status, error_code=error_code, error=error, **changes
        )


def file_entries(files: Any) -> list[Mapping[str, Any]]:
    """The journal's ``files`` column from ``MediaFile`` objects."""
    return [
        {"path": str(f.path), "mime_type": f.mime_type, "size": f.size, "url": f.url} for f in files
    ]

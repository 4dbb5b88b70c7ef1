"""``Media``: image and video jobs on one gateway, journaled in one store.

The media APIs are built here from a gateway and a store, never by the gateway itself:
``gateway/`` is the wire layer below ``media/`` and imports nothing of it.

Jobs of either kind are also reached by id (``find``, ``resume``, ``pending``,
``cancel``): what ``alltoken-agent jobs`` is built on. Every lookup is for one
``owner``: None is the local owner (the CLI's and the library's default); a server
passes its caller's key id, so one caller never reaches another's job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import Unpack

from alltoken_agent.errors import UserError
from alltoken_agent.media._api import ResumeOptions
from alltoken_agent.media._journal import Journal
from alltoken_agent.media.images import ImagesAPI
from alltoken_agent.media.results import ImageResult, VideoResult, VideoTask
from alltoken_agent.media.videos import VideosAPI
from alltoken_agent.store.media import MediaJobRecord

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway
    from alltoken_agent.store import Store


class Media:
    """Image and video jobs on ``gateway``, journaled in ``store``.

    Example:
        ```python
        async with Gateway() as gateway:
            media = Media(gateway)  # the default store, opened on the first job
            image = await media.images.generate("a red fox in snow", save_to="out/")
            video = await media.videos.generate("the fox runs", duration=5)
            await media.resume("job_0123456789abcdef")  # either kind, by id
        ```
    """

    def __init__(self, gateway: Gateway, store: Store | None = None) -> None:
        """Jobs on ``gateway``, journaled in ``store``.

        Args:
            gateway: Where jobs are submitted, polled and downloaded.
            store: Where jobs are journaled; None opens the default ``Store()`` on the
                first job (closed once neither this object nor its ``images`` or
                ``videos`` is in use). Give the store your ledger uses, so usage
                reports count media jobs too.
        """
        self.gateway = gateway
        self._journal = Journal(store)
        self.images = ImagesAPI(gateway, self._journal)
        """Image jobs: ``await media.images.generate(prompt, save_to=...)``."""
        self.videos = VideosAPI(gateway, self._journal)
        """Video jobs: ``await media.videos.generate(prompt, ...)``, ``get``, ``cancel``."""

    def __repr__(self) -> str:
        return f"Media({self.gateway!r})"

    @property
    def store(self) -> Store:
        """The journal's store (the default one is opened on first use)."""
        return self._journal.store

    def api(self, record: MediaJobRecord) -> ImagesAPI | VideosAPI:
        """The API for a journaled job's kind."""
        return self.images if record.kind == "image" else self.videos

    async def find(self, job_id: str, *, owner: str | None = None) -> MediaJobRecord:
        """``owner``'s journaled job with this id (or gateway task id).

        Raises:
            UserError: The journal has no such job for this owner.
        """
        record = await self._journal.find(job_id, owner=owner)
        if record is None:
            raise UserError(
                f"no media job {job_id!r} in the journal; `alltoken-agent jobs list` shows them"
            )
        return record

    async def resume(
        self, job_id: str, **options: Unpack[ResumeOptions]
    ) -> ImageResult | VideoResult:
        """Finish ``owner``'s journaled image or video job without submitting it twice.

        The options are those of ``images.resume`` (``owner``, ``on_progress``, ``poll``,
        ``resubmit`` to send again a submit whose answer was lost, ``limits`` to cap the
        downloads). Another process finishing the job meanwhile is waited for (until
        the poll deadline), never raced.

        Raises:
            UserError: No such job, or it was made through another dialect.
            MediaJobError: The job failed, expired, was cancelled, or is still running
                at the deadline (then it stays pending).
        """
        record = await self.find(job_id, owner=options.get("owner"))
        return await self.api(record).resume(record.id, **options)

    async def pending(self, *, owner: str | None = None) -> list[MediaJobRecord]:
        """Every unfinished job of ``owner`` in the journal, oldest first."""
        return await self._journal.unfinished(owner=owner)

    async def cancel(self, job_id: str, *, owner: str | None = None) -> VideoTask:
        """Cancel ``owner``'s journaled video job on the gateway (AllToken); the journal follows.

        Raises:
            UserError: No such job, or an image job: images have no cancel endpoint
                (§1.7), and a submitted image is paid for, so ``jobs resume`` fetches it
                instead.
            MediaJobError: The task already finished.
        """
        record = await self.find(job_id, owner=owner)
        if record.kind == "image":
            raise UserError(
                f"image job {record.id} cannot be cancelled: the gateway has no cancel for "
                "images and it is paid for once submitted; `alltoken-agent jobs resume "
                f"{record.id}` saves it"
            )
        if record.finished:
            raise UserError(f"video job {record.id} already ended ({record.status})")
        if record.task_id is None:
            raise UserError(
                f"video job {record.id} has no task id yet (its submit was never confirmed); "
                f"`alltoken-agent jobs resume {record.id}` finds out"
            )
        return await self.videos.cancel(record.id, owner=owner)

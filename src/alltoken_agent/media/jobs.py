"""Journaled jobs of either kind, by id: what ``alltoken-agent jobs`` is built on.

Every function looks jobs up for one ``owner``: None is the local owner (the CLI's and
the library's default); a server passes its caller's key id, so one caller never
reaches another's job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alltoken_agent.errors import UserError
from alltoken_agent.media._journal import Journal
from alltoken_agent.media.images import ImagesAPI
from alltoken_agent.media.policy import DownloadLimits, PollPolicy
from alltoken_agent.media.results import ImageResult, VideoResult, VideoTask
from alltoken_agent.media.runner import ProgressCallback
from alltoken_agent.media.videos import VideosAPI
from alltoken_agent.store.media import MediaJobRecord

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway


async def find_job(gateway: Gateway, job_id: str, *, owner: str | None = None) -> MediaJobRecord:
    """``owner``'s journaled job with this id (or gateway task id).

    Raises:
        UserError: The journal has no such job for this owner.
    """
    record = await Journal.of(gateway).find(job_id, owner=owner)
    if record is None:
        raise UserError(
            f"no media job {job_id!r} in the journal; `alltoken-agent jobs list` shows them"
        )
    return record


async def resume_job(
    gateway: Gateway,
    job_id: str,
    *,
    on_progress: ProgressCallback | None = None,
    poll: PollPolicy | None = None,
    owner: str | None = None,
    resubmit: bool = False,
    limits: DownloadLimits | None = None,
) -> ImageResult | VideoResult:
    """Finish ``owner``'s journaled image or video job without submitting it twice.

    ``resubmit`` sends again a submit whose answer was lost (see ``images.resume``);
    ``limits`` caps the result downloads. Another process finishing the job meanwhile
    is waited for (until the poll deadline), never raced.

    Raises:
        UserError: No such job, or it was made through another dialect.
        MediaJobError: The job failed, expired, was cancelled, or is still running at
            the deadline (then it stays pending).
    """
    record = await find_job(gateway, job_id, owner=owner)
    api = ImagesAPI(gateway) if record.kind == "image" else VideosAPI(gateway)
    return await api.resume(
        record.id,
        on_progress=on_progress,
        poll=poll,
        owner=owner,
        resubmit=resubmit,
        limits=limits,
    )


async def pending_jobs(gateway: Gateway, *, owner: str | None = None) -> list[MediaJobRecord]:
    """Every unfinished job of ``owner`` in the gateway's journal, oldest first."""
    return await Journal.of(gateway).unfinished(owner=owner)


async def cancel_job(gateway: Gateway, job_id: str, *, owner: str | None = None) -> VideoTask:
    """Cancel ``owner``'s journaled video job on the gateway (AllToken); the journal follows.

    Raises:
        UserError: No such job, or an image job: images have no cancel endpoint (§1.7),
            and a submitted image is paid for, so ``jobs resume`` fetches it instead.
        MediaJobError: The task already finished.
    """
    record = await find_job(gateway, job_id, owner=owner)
    if record.kind == "image":
        raise UserError(
            f"image job {record.id} cannot be cancelled: the gateway has no cancel for images "
            "and it is paid for once submitted; `alltoken-agent jobs resume "
            f"{record.id}` saves it"
        )
    if record.finished:
        raise UserError(f"video job {record.id} already ended ({record.status})")
    if record.task_id is None:
        raise UserError(
            f"video job {record.id} has no task id yet (its submit was never confirmed); "
            f"`alltoken-agent jobs resume {record.id}` finds out"
        )
    return await VideosAPI(gateway).cancel(record.id, owner=owner)

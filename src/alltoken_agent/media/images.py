"""``media.images``: image jobs that never lose a paid result.

The job is journaled before its submit. On AllToken the first completed answer is the
only one with the image bytes (``b64_json``), so they are written to disk, atomically,
before anything else happens; a later ``410`` falls back to the durable ``r2_url`` when
one is known. Synchronous gateways (TokenHub, OpenAI-compatible) answer with the image
or a temporary URL, which is downloaded at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alltoken_agent.errors import GoneError, MediaJobError
from alltoken_agent.media._api import JobsAPI, recorded_failure
from alltoken_agent.media._journal import file_entries
from alltoken_agent.media.image_wire import (
    ALLTOKEN_ROUTE,
    SYNC_ROUTE,
    Background,
    ImageFormat,
    ImageItem,
    Moderation,
    Quality,
    check_options,
    image_items,
    read_poll,
    request_body,
)
from alltoken_agent.media.policy import DownloadLimits, PollPolicy
from alltoken_agent.media.results import (
    ImageResult,
    image_result,
    mapping,
    stored_files,
    unjournaled_images,
)
from alltoken_agent.media.runner import ProgressCallback, Run
from alltoken_agent.media.saving import deliver_images
from alltoken_agent.store.media import MediaJobRecord, MediaJobStatus

if TYPE_CHECKING:
    import os

DEFAULT_IMAGE_MODEL = "gpt-image-2"


class ImagesAPI(JobsAPI[ImageResult]):
    """Image generation on the gateway's dialect; reached as ``Media(gateway).images``.

    Example:
        ```python
        async with Gateway() as gateway:
            result = await Media(gateway).images.generate("a red fox in snow", save_to="out/")
            print(result.paths, result.r2_url)
        ```
    """

    kind = "image"
    concurrency = 4

    async def generate(
        self,
        prompt: str,
        *,
        model: str = DEFAULT_IMAGE_MODEL,
        size: str | None = None,
        quality: Quality | None = None,
        output_format: ImageFormat | None = None,
        background: Background | None = None,
        moderation: Moderation | None = None,
        n: int = 1,
        save_to: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        poll: PollPolicy | None = None,
        owner: str | None = None,
        overwrite: bool = False,
        limits: DownloadLimits | None = None,
        **extra: Any,
    ) -> ImageResult:
        """Generate images, save them, and return where they are.

        Args:
            prompt: What to draw.
            model: The image model (AllToken: gpt-image-2, wan2.7-image(-pro)).
            size: ``auto`` or ``WIDTHxHEIGHT`` (gpt-image-2: multiples of 16, up to
                3840x2160, aspect 1:3 to 3:1).
            quality: ``auto``, ``low``, ``medium`` or ``high``.
            output_format: ``png``, ``jpeg`` or ``webp``; taken from ``save_to``'s
                extension when not given.
            background: ``auto``, ``opaque`` or ``transparent`` (png/webp only).
            moderation: ``auto`` or ``low``.
            n: How many images, 1 to 10.
            save_to: A file path, or a folder (``JOB_ID.png`` inside); the current
                folder when None.
            on_progress: Called with each ``JobEvent``.
            poll: How often and how long to poll (``PollPolicy.for_images()``).
            owner: Whose job this is in the journal: None is the local owner (what
                ``alltoken-agent jobs`` lists); a server passes its caller's id, and
                then only that owner finds, resumes or cancels the job.
            overwrite: Replace a file already at ``save_to``; by default the result
                goes to a free name beside it (``fox-1.png``) and ``job:saved`` says so.
            limits: The largest result file to download (``DownloadLimits()``).
            **extra: Other create fields, sent as given (``seed``, ``user``,
                ``output_compression``, TokenHub's ``watermark``).

        Raises:
            UserError: Bad options (before any request).
            MediaJobError: The job failed, expired or was cancelled (journaled so), or
                it is still running at the deadline (left ``pending``: resumable).
        """
        record = await self.create_job(
            prompt,
            model=model,
            size=size,
            quality=quality,
            output_format=output_format,
            background=background,
            moderation=moderation,
            n=n,
            save_to=save_to,
            owner=owner,
            overwrite=overwrite,
            **extra,
        )
        return await self._start(record, poll, on_progress, limits)

    async def create_job(
        self,
        prompt: str,
        *,
        model: str = DEFAULT_IMAGE_MODEL,
        size: str | None = None,
        quality: Quality | None = None,
        output_format: ImageFormat | None = None,
        background: Background | None = None,
        moderation: Moderation | None = None,
        n: int = 1,
        save_to: str | os.PathLike[str] | None = None,
        owner: str | None = None,
        overwrite: bool = False,
        job_id: str | None = None,
        **extra: Any,
    ) -> MediaJobRecord:
        """Check the options and journal an image job (``submitting``) without sending it.

        For callers that answer before the job ends, such as a server returning the
        job id at once: ``resume(job.id, owner=...)`` then submits and finishes it, and
        a crash before that leaves a job that ``alltoken-agent jobs resume`` picks up.
        The arguments are those of :meth:`generate`, and ``job_id``: the id to journal
        the job under, for a caller that recorded it first (a batch line).

        Raises:
            UserError: Bad options; nothing is journaled.
        """
        if output_format is None and save_to is not None:
            output_format = _format_from_suffix(save_to)
        options: dict[str, Any] = {
            "n": n,
            "size": size,
            "quality": quality,
            "output_format": output_format,
            "background": background,
            "moderation": moderation,
            **extra,
        }
        return await self._create(
            prompt, model, options, save_to=save_to, owner=owner, overwrite=overwrite, job_id=job_id
        )

    def _request(
        self, prompt: str, model: str | None, options: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        model = DEFAULT_IMAGE_MODEL if model is None else model
        check_options(model, options)
        body = request_body(self.dialect, model, prompt, options)
        params = {"prompt": prompt, **{k: v for k, v in options.items() if v is not None}}
        return model, params, body

    async def _steps(self, run: Run, *, fresh: bool) -> ImageResult:
        record = run.record
        known = [ImageItem.from_journal(item) for item in record.result.get("items") or ()]
        if record.status == "completed":
            files = stored_files(record)
            if files is not None:
                return image_result(record, files)
            return await self._refetch(run, known)
        if record.finished:
            raise recorded_failure(record)
        if record.status == "pending" and known:
            # The answer arrived and was journaled; only downloads were left to do.
            return await run.protect(deliver_images(run, known))
        if self.dialect != "alltoken":
            data = await run.submit(SYNC_ROUTE)
            return await run.protect(deliver_images(run, await _items_of(run, data), data))
        first_delay = await self._submit(run, ALLTOKEN_ROUTE, fresh=fresh)
        try:
            data, state = await run.poll(ALLTOKEN_ROUTE, read_poll, first_delay=first_delay)
        except GoneError as gone:
            saved = await _saved_meanwhile(run)
            if saved is not None:  # whoever claimed the bytes saved them: nothing is lost
                return saved
            status: MediaJobStatus = "expired" if gone.code == "image_expired" else "failed"
            raise await run.fail(status, _gone_reason(gone), code=gone.code, cause=gone) from gone
        if state.status != "completed":
            raise await run.ended(state)
        return await run.protect(deliver_images(run, await _items_of(run, data), data, state))

    async def _refetch(self, run: Run, known: list[ImageItem]) -> ImageResult:
        """Fetch again the files of a completed job that are gone from disk."""
        run.unobserved()  # the job was recorded for observers when it completed
        if known and all(item.source for item in known):
            return await run.protect(deliver_images(run, known))
        if self.dialect == "alltoken" and run.record.task_id:
            try:
                data, _ = await run.poll(ALLTOKEN_ROUTE, read_poll, first_delay=0.0)
            except GoneError as gone:
                raise MediaJobError(
                    f"{run.label} completed, but its files are gone from disk and the "
                    f"gateway has no copy left ({gone.code}); submit the prompt again"
                ) from gone
            return await run.protect(deliver_images(run, await _items_of(run, data), data))
        raise MediaJobError(
            f"{run.label} completed, but its files are gone from disk and no durable copy "
            "is known; submit the prompt again"
        )


async def _saved_meanwhile(run: Run) -> ImageResult | None:
    """The result, when the job's files are on disk (saved by any process).

    Known from the journal, or found at the job's own names when the run that wrote
    them stopped before journaling them (see ``unjournaled_images``).
    """
    record = await run.journal.get(run.record.id, owner=run.record.owner)
    if record is None:
        return None
    files = stored_files(record)
    changes: dict[str, Any] = {}
    if files is None:
        files = await asyncio.to_thread(unjournaled_images, record)
        if files is None:
            return None
        changes["files"] = file_entries(files)
    if record.status == "completed":
        run.unobserved()  # the run that completed it recorded the job
        return image_result(record, files)
    # The run that saved the files stopped before it completed (and recorded) the job.
    record = await run.update(status="completed", error_code=None, error=None, **changes)
    final = image_result(record, files)
    run.observed(final, images=len(files), task_id=record.task_id)
    return final


async def _items_of(run: Run, data: dict[str, Any]) -> list[ImageItem]:
    """The images of an answer; an answer without any ends the job ``failed``."""
    items = image_items(data)
    if not items:
        output = mapping(data.get("output"))
        said = output.get("message") or mapping(data.get("error")).get("message")
        reason = "was answered without any image" + (f" ({said})" if said else "")
        raise await run.fail("failed", reason, code=str(output.get("code") or "no_image"))
    return items


def _gone_reason(gone: GoneError) -> str:
    if gone.code == "image_already_retrieved":
        return (
            "was already delivered once and the gateway kept no copy (410 "
            "image_already_retrieved); that delivery was never saved, so the result is "
            "lost: submit the prompt again"
        )
    return f"can no longer be fetched ({gone.code}: {gone.message}); submit the prompt again"


_SUFFIX_FORMATS: dict[str, ImageFormat] = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".webp": "webp",
}


def _format_from_suffix(save_to: str | os.PathLike[str]) -> ImageFormat | None:
    return _SUFFIX_FORMATS.get(Path(save_to).suffix.lower())

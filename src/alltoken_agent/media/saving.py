"""Putting a job's results on disk: inline bytes first, then downloads, then the journal.

The order is the point. A completed AllToken image answer is the only one that
carries the bytes, so they are decoded and written (atomically, fsync'd) before the
journal or anything else is touched; then the journal learns the files and the
durable URLs; then the images that came as URLs are downloaded.

A video URL is temporary (AllToken ``video_url_expires_at``; TokenHub about 24 h), so
the download starts the moment the task completes, after the link and its expiry are
journaled; an expired link says so plainly instead of failing with a bare 403.

Callers run all of this under ``Run.protect``, so Ctrl-C cannot stop it halfway.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from alltoken_agent.errors import GatewayError, MediaJobError, UpstreamError
from alltoken_agent.media._download import download
from alltoken_agent.media._journal import file_entries
from alltoken_agent.media._wire import PollState
from alltoken_agent.media.events import JobDoneEvent, JobDownloadEvent, JobSavedEvent
from alltoken_agent.media.files import (
    FORMAT_MIME,
    extension_for,
    file_paths,
    sniff_mime,
    write_atomic,
)
from alltoken_agent.media.image_wire import ImageItem
from alltoken_agent.media.results import (
    ImageResult,
    MediaFile,
    VideoResult,
    image_result,
    parse_time,
    video_result,
)
from alltoken_agent.media.runner import Run, resume_hint
from alltoken_agent.media.video_wire import video_link, video_seconds

PROGRESS_EVERY = 0.1
"""Seconds between two ``job:download`` events of one file."""


def decode_image(text: str) -> bytes:
    """Decode ``b64_json``; a broken payload is an upstream error."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UpstreamError(
            "the gateway sent b64_json that is not base64", code="malformed_response"
        ) from None


def _write_inline(items: list[tuple[Path, bytes]], replace: bool) -> list[Path]:
    return [write_atomic(path, data, replace=replace) for path, data in items]


def _replace(run: Run) -> bool:
    """Whether the job may replace a file already at its target (``overwrite``)."""
    return run.record.result.get("overwrite") is True


async def deliver_images(
    run: Run,
    items: Sequence[ImageItem],
    answer: Mapping[str, Any] | None = None,
    state: PollState | None = None,
) -> ImageResult:
    """Save every image of a completed job and journal it ``completed``.

    ``state`` is the poll that found it completed (AllToken), announced once the
    inline bytes are safe.
    """
    record = run.record
    wanted = FORMAT_MIME.get(str(record.params.get("output_format") or "png"), "image/png")
    blobs = await asyncio.to_thread(
        lambda: {i: decode_image(it.b64_json) for i, it in enumerate(items) if it.b64_json}
    )
    mimes = [
        (sniff_mime(blobs[i]) or item.mime_type or wanted)
        if i in blobs
        else (item.mime_type or _mime_from_url(item.source) or wanted)
        for i, item in enumerate(items)
    ]
    paths = file_paths(record.output_path, record.id, [extension_for(m, "png") for m in mimes])
    # 1. The bytes the gateway delivers only once, before anything else.
    try:
        written = await asyncio.to_thread(
            _write_inline, [(paths[i], data) for i, data in blobs.items()], _replace(run)
        )
    except OSError as error:
        # The disk refused them (full, unmounted...): keep the durable links, so that
        # `jobs resume` can fetch the copies once the disk is fixed.
        await run.update(result={**record.result, "items": [it.to_journal() for it in items]})
        raise _unsaved(run, error, any(item.source for item in items)) from error
    if state is not None:
        run.announce(state)
    files: dict[int, MediaFile] = {}
    for (i, data), path in zip(blobs.items(), written, strict=True):
        files[i] = _file(path, mimes[i], len(data), items[i])
        announce_saved(run, files[i], asked=paths[i])
    # 2. The journal learns the files and where durable copies live.
    result = {**record.result, "items": [item.to_journal() for item in items]}
    if answer is not None:
        result["usage"] = answer.get("usage")
        result["request_id"] = answer.get("request_id") or result.get("request_id")
    changes: dict[str, Any] = {}
    if state is not None:
        changes["remote_status"] = state.remote or state.status
    await run.update(files=file_entries(files[i] for i in sorted(files)), result=result, **changes)
    # 3. Images that came as links (or were saved by an earlier run of this job).
    # An earlier run may have saved one beside a taken target: found by its link too.
    on_disk = {str(entry["path"]): entry for entry in record.files}
    by_link = {entry["url"]: entry for entry in record.files if entry.get("url")}
    for i, item in enumerate(items):
        if i in files:
            continue
        earlier = on_disk.get(str(paths[i])) or by_link.get(item.r2_url or item.url)
        saved_at = Path(str(earlier["path"])) if earlier is not None else None
        if earlier is not None and saved_at is not None and saved_at.is_file():
            files[i] = _file(saved_at, str(earlier["mime_type"]), int(earlier["size"]), item)
        else:
            files[i] = await _fetch_image(run, item, paths[i], mimes[i])
    ordered = [files[i] for i in range(len(items))]
    await run.update(status="completed", files=file_entries(ordered))
    final = image_result(run.record, ordered)
    announce_done(run, ordered)
    run.observed(final, images=len(ordered), task_id=run.record.task_id)
    return final


async def _fetch_image(run: Run, item: ImageItem, path: Path, mime: str) -> MediaFile:
    url = item.source
    if url is None:
        raise await run.fail("failed", "answered an image with neither bytes nor a URL")
    try:
        file = await fetch(run, url, path, mime)
    except GatewayError as error:
        await lost_link(run, url, error)
    return _file(path, file.mime_type, file.size, item)


async def lost_link(run: Run, url: str, error: GatewayError) -> NoReturn:
    """Raise for a result link that failed: expired (403/404/410) or not reachable.

    An expired link is not chained to its HTTP error: the bucket's 403 is not an
    authentication problem of ours (it would map to the wrong exit code). A link that
    is not http(s) ends the job ``failed`` (asking again gets the same link); a file
    past the size cap leaves it resumable (raise the cap, then ``jobs resume``).
    """
    if error.code == "unsafe_result_url":
        raise await run.fail(
            "failed",
            f"was answered with a result link we do not fetch ({error.message}); nothing "
            "was downloaded",
            code="unsafe_result_url",
        ) from None
    if error.code == "result_too_large":
        kind = "video" if run.record.kind == "video" else "image"
        raise run.pending_error(
            f"has a result too large to download: {error.message}",
            error,
            hint=f"raise [media] max_{kind}_mb in the config, then {resume_hint(run.record.id)}",
        ) from error
    if error.status in (403, 404, 410):
        raise await run.fail(
            "expired",
            f"has a result link that no longer works ({error.message}); the link expired "
            "before it was downloaded: submit it again",
            code="link_expired",
        ) from None
    raise run.pending_error(f"could not download its result: {error}", error) from error


def _unsaved(run: Run, error: OSError, copy_known: bool) -> MediaJobError:
    """The error for a result the disk refused; the job stays resumable."""
    where = error.filename or run.record.output_path
    reason = f"could not save its result to {where} ({error.strerror or error})"
    if not copy_known:
        reason += "; the gateway named no durable copy, so a resume may find the result gone"
    return run.pending_error(reason)


async def fetch(run: Run, url: str, path: Path, mime_hint: str) -> MediaFile:
    """Download ``url`` to ``path`` atomically, reporting progress; return the file."""
    record = run.record
    last = 0.0

    def on_bytes(received: int, total: int | None) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY or received == total:
            last = now
            event = JobDownloadEvent(
                job_id=record.id, kind=record.kind, path=path, received=received, total=total
            )
            run.emit(event)

    try:
        got = await download(
            run.gateway,
            url,
            path,
            on_bytes=on_bytes,
            max_bytes=run.limits.for_mime(mime_hint),
            replace=_replace(run),
        )
    except OSError as error:
        raise _unsaved(run, error, copy_known=True) from error
    declared = (got.content_type or "").split(";")[0].strip().lower()
    if not declared or declared == "application/octet-stream":
        declared = sniff_mime(got.head) or mime_hint
    file = MediaFile(got.path, declared, got.size, url=url)
    announce_saved(run, file, asked=path)
    return file


def _mime_from_url(url: str | None) -> str | None:
    suffix = Path(urlsplit(url).path).suffix.lower().lstrip(".") if url else ""
    return FORMAT_MIME.get(suffix)


def _file(path: Path, mime: str, size: int, item: ImageItem) -> MediaFile:
    return MediaFile(
        path,
        mime,
        size,
        url=item.r2_url or item.url,
        url_expires_at=parse_time(item.r2_url_expires_at),
    )


def announce_saved(run: Run, file: MediaFile, *, asked: Path | None = None) -> None:
    """Emit ``job:saved`` for a file now complete on disk (``asked``: its target)."""
    record = run.record
    run.emit(
        JobSavedEvent(
            job_id=record.id,
            kind=record.kind,
            path=file.path,
            mime_type=file.mime_type,
            size=file.size,
            taken=asked if asked is not None and asked != file.path else None,
        )
    )


def announce_done(run: Run, files: Sequence[MediaFile]) -> None:
    """Emit ``job:done`` with every saved file."""
    record = run.record
    run.emit(
        JobDoneEvent(
            job_id=record.id,
            kind=record.kind,
            task_id=record.task_id,
            paths=tuple(file.path for file in files),
            elapsed=round(run.elapsed, 3),
        )
    )


async def deliver_video(run: Run, answer: Mapping[str, Any], state: PollState) -> VideoResult:
    """Download the video (and its last frame, when asked for) of a completed task."""
    record = run.record
    url, expires = video_link(answer)
    if url is None:
        raise await run.fail("failed", "completed without a video_url", code="malformed_response")
    now = datetime.now(timezone.utc)
    if expires is not None and expires <= now:
        raise await run.fail(
            "expired",
            f"completed, but its video_url expired at {expires.isoformat()} before it was "
            "downloaded; submit it again",
            code="link_expired",
        )
    task = answer.get("output") if isinstance(answer.get("output"), Mapping) else answer
    last_frame = task.get("last_frame_url") if isinstance(task, Mapping) else None
    result: dict[str, Any] = {
        **record.result,
        "video_url": url,
        "video_url_expires_at": None if expires is None else expires.isoformat(),
        "last_frame_url": last_frame,
        "usage": answer.get("usage"),
        "duration": video_seconds(answer, record.params),
    }
    if answer.get("request_id"):
        result["request_id"] = answer["request_id"]
    # The link and its expiry are journaled first: `jobs resume` then knows what is left.
    await run.update(result=result, remote_status=state.remote or state.status)
    run.announce(state)
    mime = _mime_from_url(url) or "video/mp4"
    (video_path,) = file_paths(record.output_path, record.id, [extension_for(mime, "mp4")])
    frame_path = video_path.with_name(f"{video_path.stem}-last-frame.png")
    files: list[MediaFile] = []
    for link, path, hint in ((url, video_path, mime), (last_frame, frame_path, "image/png")):
        if not link:
            continue
        try:
            file = await fetch(run, str(link), path, hint)
        except GatewayError as error:
            await lost_link(run, str(link), error)
        files.append(
            MediaFile(file.path, file.mime_type, file.size, url=link, url_expires_at=expires)
        )
    await run.update(status="completed", files=file_entries(files))
    final = video_result(run.record, files)
    announce_done(run, files)
    run.observed(final, seconds=final.duration, task_id=run.record.task_id)
    return final

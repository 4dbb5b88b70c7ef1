"""What a media job returns: the saved files, usage, and the durable URLs the gateway kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alltoken_agent.gateway import Cost, Usage
from alltoken_agent.media.files import FORMAT_MIME, extension_for, file_paths, is_folder, sniff_mime
from alltoken_agent.store.media import MediaJobRecord


def parse_time(value: object) -> datetime | None:
    """Read an RFC 3339 time (``2026-05-12T10:00:00Z``); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one (wire data is untrusted)."""
    return value if isinstance(value, Mapping) else {}


def media_usage(data: object) -> Usage | None:
    """Image usage (``input_tokens``/``output_tokens``) or video usage, as a ``Usage``."""
    if not isinstance(data, Mapping):
        return None
    if "input_tokens" in data or "output_tokens" in data:
        prompt = _int(data.get("input_tokens"))
        completion = _int(data.get("output_tokens"))
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=_int(data.get("total_tokens")) or prompt + completion,
            raw=dict(data),
        )
    return Usage.from_wire(data)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class MediaFile:
    """One saved result file."""

    path: Path
    mime_type: str
    size: int
    """Bytes on disk."""
    _: KW_ONLY
    url: str | None = None
    """The durable copy (AllToken ``r2_url``) or the URL the file was fetched from."""
    url_expires_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "path": str(self.path),
            "mime_type": self.mime_type,
            "size": self.size,
            "url": self.url,
            "url_expires_at": _iso(self.url_expires_at),
        }


@dataclass(frozen=True)
class JobResult:
    """What a finished job of either kind holds: its files on disk and what the gateway said."""

    job_id: str
    """Our journal id (``jobs show JOB_ID``)."""
    model: str
    files: tuple[MediaFile, ...]
    _: KW_ONLY
    task_id: str | None = None
    """The gateway's task id (AllToken ``igen_...``/``vgen_...``); None for synchronous
    gateways."""
    usage: Usage | None = None
    cost: Cost | None = None
    """Media replies carry no cost; the ledger estimates it (image count, video seconds)."""
    request_id: str | None = None

    @property
    def paths(self) -> list[Path]:
        """The saved files, in the gateway's order."""
        return [file.path for file in self.files]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "job_id": self.job_id,
            "task_id": self.task_id,
            "model": self.model,
            "files": [file.to_dict() for file in self.files],
            "usage": None if self.usage is None else self.usage.to_dict(),
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class ImageResult(JobResult):
    """A finished image job: its files on disk and what the gateway reported."""

    _: KW_ONLY
    r2_url: str | None = None
    """The first image's durable copy (kept >= 30 days on AllToken), when one exists."""
    r2_url_expires_at: datetime | None = None

    @property
    def mime_types(self) -> list[str]:
        """The MIME type of each saved file."""
        return [file.mime_type for file in self.files]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            **super().to_dict(),
            "r2_url": self.r2_url,
            "r2_url_expires_at": _iso(self.r2_url_expires_at),
        }


@dataclass(frozen=True)
class VideoTask:
    """A video task as the gateway reports it (``videos.get``, ``list``, ``cancel``)."""

    id: str
    status: str
    """Normalised: ``queued``, ``processing``, ``completed``, ``failed``, ``expired``,
    ``cancelled`` or ``unknown``."""
    model: str | None
    _: KW_ONLY
    video_url: str | None = None
    video_url_expires_at: datetime | None = None
    duration: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    raw: Mapping[str, Any] | None = None
    """The task object as sent."""

    @property
    def finished(self) -> bool:
        """Whether the task reached a final status."""
        return self.status in ("completed", "failed", "expired", "cancelled")


@dataclass(frozen=True)
class VideoResult(JobResult):
    """A finished video job: the video file (and last frame) on disk.

    Its ``files`` are the video first, then its last frame when one was asked for.
    """

    _: KW_ONLY
    video_url: str | None = None
    video_url_expires_at: datetime | None = None
    duration: float | None = None
    """Seconds of video, as the gateway reported it (what the ledger prices)."""

    @property
    def path(self) -> Path:
        """The video file."""
        return self.files[0].path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            **super().to_dict(),
            "video_url": self.video_url,
            "video_url_expires_at": _iso(self.video_url_expires_at),
            "duration": self.duration,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# -- results rebuilt from the journal ------------------------------------------------


def stored_files(record: MediaJobRecord) -> list[MediaFile] | None:
    """The job's saved files from the journal; None when one is missing on disk."""
    files = [
        MediaFile(
            Path(entry["path"]),
            str(entry.get("mime_type") or "application/octet-stream"),
            int(entry.get("size") or 0),
            url=entry.get("url"),
        )
        for entry in record.files
    ]
    if not files or not all(file.path.is_file() for file in files):
        return None
    return files


def unjournaled_images(record: MediaJobRecord) -> list[MediaFile] | None:
    """Images a run wrote for this job but stopped before journaling; None when not all.

    A run writes the one-time bytes first and journals them next: killed in between,
    the files are on disk and the journal does not know them. Only names that are
    surely this job's count: ``JOB_ID.EXT`` in a folder target, or a file target
    written after the job was submitted.
    """
    fmt = str(record.params.get("output_format") or "png")
    mime = FORMAT_MIME.get(fmt, "image/png")
    count = record.params.get("n")
    count = count if isinstance(count, int) and 1 <= count <= 10 else 1
    paths = file_paths(record.output_path, record.id, [extension_for(mime, "png")] * count)
    if not all(path.is_file() for path in paths):
        return None
    if not is_folder(record.output_path):
        since = record.submitted_at
        if since is None or any(p.stat().st_mtime < since.timestamp() for p in paths):
            return None
    files = []
    for path in paths:
        with path.open("rb") as file:
            head = file.read(64)
        files.append(MediaFile(path, sniff_mime(head) or mime, path.stat().st_size))
    return files


def image_result(record: MediaJobRecord, files: Sequence[MediaFile]) -> ImageResult:
    """An ``ImageResult`` from the journal row and the saved files."""
    items = record.result.get("items") or [{}]
    first = items[0] if isinstance(items[0], Mapping) else {}
    return ImageResult(
        job_id=record.id,
        model=record.model,
        files=tuple(files),
        task_id=record.task_id,
        usage=media_usage(record.result.get("usage")),
        request_id=record.result.get("request_id"),
        r2_url=first.get("r2_url"),
        r2_url_expires_at=parse_time(first.get("r2_url_expires_at")),
    )


def video_result(record: MediaJobRecord, files: Sequence[MediaFile]) -> VideoResult:
    """A ``VideoResult`` from the journal row and the saved files."""
    result = record.result
    duration = result.get("duration")
    return VideoResult(
        job_id=record.id,
        model=record.model,
        files=tuple(files),
        task_id=record.task_id,
        usage=media_usage(result.get("usage")),
        request_id=result.get("request_id"),
        video_url=result.get("video_url"),
        video_url_expires_at=parse_time(result.get("video_url_expires_at")),
        duration=float(duration) if isinstance(duration, (int, float)) else None,
    )

"""``/image`` and ``/video``: media jobs through ``Media(gateway).images`` / ``.videos``.

Written against the media API's shape, ``await media.images.generate(prompt,
save_to=FOLDER, on_progress=CALLBACK)`` (likewise ``videos``), and guarded: an object
without it makes the command say the feature is not available in this version.
What a job returns and reports as progress is read defensively (a path, a list of
paths, or an object carrying them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

MediaKind = Literal["image", "video"]

_API = {"image": "images", "video": "videos"}


class MediaUnavailableError(Exception):
    """This app (or this version of alltoken-agent) has no media API."""


def media_api(media: object, kind: MediaKind) -> Any | None:
    """The ``images`` or ``videos`` API of ``media`` (a ``Media``), or None when there is none."""
    try:
        api = getattr(media, _API[kind], None)
    except ImportError:  # the property exists but the media package does not (yet)
        return None
    return api if api is not None and hasattr(api, "generate") else None


async def generate(
    media: object,
    kind: MediaKind,
    prompt: str,
    *,
    save_to: Path,
    on_progress: Callable[[str], None],
    on_job_id: Callable[[str], None] | None = None,
) -> list[Path]:
    """Run one media job to the end; returns the saved files.

    ``on_job_id`` learns the journal id (``jobs resume`` takes it) from the first
    progress event that carries one.

    Raises:
        MediaUnavailableError: ``media`` has no API for ``kind``.
    """
    api = media_api(media, kind)
    if api is None:
        raise MediaUnavailableError(f"{kind} generation is not available in this version")

    def progress(update: Any) -> None:
        job_id = getattr(update, "job_id", None)
        if on_job_id is not None and isinstance(job_id, str):
            on_job_id(job_id)
        on_progress(describe_progress(update))

    result = await api.generate(prompt, save_to=save_to, on_progress=progress)
    return saved_paths(result)


def describe_progress(update: Any) -> str:
    """A short line for a progress update: status, percentage and time when it has them."""
    if isinstance(update, str):
        return update
    status = _first_attr(update, "status", "state", "phase")
    percent = _first_attr(update, "progress", "percent")
    elapsed = _first_attr(update, "elapsed")
    parts = [str(status)] if status is not None else []
    if isinstance(percent, (int, float)):
        parts.append(f"{percent:.0f}%" if percent > 1 else f"{percent * 100:.0f}%")
    if isinstance(elapsed, (int, float)):
        parts.append(f"({elapsed:.0f} s)")
    return " ".join(parts) or str(update)


def saved_paths(result: Any) -> list[Path]:
    """The files a job saved: ``result`` may be a path, paths, or an object holding them."""
    if result is None:
        return []
    if isinstance(result, (str, Path)):
        return [Path(result)]
    if isinstance(result, Iterable) and not isinstance(result, (bytes, dict)):
        return [p for item in result for p in saved_paths(item)]
    for name in ("paths", "saved_paths", "files", "path", "saved_to", "file"):
        value = getattr(result, name, None)
        if value is not None:
            return saved_paths(value)
    return []


def _first_attr(obj: Any, *names: str) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None

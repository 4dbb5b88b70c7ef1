"""The media part of `alltoken-agent check --media`: one small image job and one video job.

Each job runs the whole path a user's job takes (submit, poll, claim, download) through
``Media(gateway).images`` / ``.videos``, so the journal and the retry policy are the
real ones. The files land in a temporary folder and are validated by their signature
bytes (an HTML error page saved as ``.png`` must not pass), then deleted: the check
validates the path, it does not keep pictures.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from alltoken_agent import GatewayError, MediaJobError, UserError
from alltoken_agent.cli._check_chat import now, recommended_action
from alltoken_agent.cli.exit_codes import FAILURE, OK
from alltoken_agent.cli.media import media_exit_code

if TYPE_CHECKING:
    from alltoken_agent import Gateway
    from alltoken_agent.media import Media

MediaKind = Literal["image", "video"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "video")
IMAGE_PROMPT = "A small red square on a plain white background."
VIDEO_PROMPT = "A red ball rolls slowly across a white floor."
_FORMATS: dict[str, dict[str, str]] = {
    # The types the media layer's own sniffing recognises, by what each kind may be:
    # enough to tell a real file from an error page or an empty file.
    "image": {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"},
    "video": {"video/mp4": "MP4/MOV", "video/quicktime": "MP4/MOV"},
}


class _FileError(Exception):
    """A job completed, but the file it saved is not a real image or video."""


def media_supported(gateway: Gateway) -> None:
    """Refuse ``--media`` before anything is sent when the provider has no media endpoints.

    Raises:
        UserError: The provider speaks the plain OpenAI dialect.
    """
    if gateway.provider.dialect not in ("alltoken", "tokenhub"):
        raise UserError(
            f"--media needs an AllToken or TokenHub gateway; provider "
            f"{gateway.provider.name!r} speaks the plain OpenAI dialect "
            "(run the check without --media)"
        )


async def run_media_checks(gateway: Gateway) -> tuple[dict[str, dict[str, Any]], int]:
    """Run the image check, then the video check; return their entries and an exit code.

    The exit code is that of the first check that failed, else 0.
    """
    entries: dict[str, dict[str, Any]] = {}
    from alltoken_agent.media import Media

    exit_code = OK
    media = Media(gateway)  # journaled in the default store, as a user's job is
    for kind in MEDIA_KINDS:
        entry, code = await _check_one(media, kind)
        entries[kind] = entry
        if exit_code == OK:
            exit_code = code
    return entries, exit_code


async def _check_one(media: Media, kind: MediaKind) -> tuple[dict[str, Any], int]:
    from alltoken_agent.media import DEFAULT_IMAGE_MODEL, DEFAULT_VIDEO_MODELS

    gateway = media.gateway
    dialect = gateway.provider.dialect
    model = DEFAULT_IMAGE_MODEL if kind == "image" else DEFAULT_VIDEO_MODELS[dialect]
    entry: dict[str, Any] = {"status": "failed", "model": model, "job_id": None, "notes": ""}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="alltoken-check-") as folder:
        try:
            if kind == "image":
                result: Any = await media.images.generate(IMAGE_PROMPT, model=model, save_to=folder)
            else:
                # 480p keeps a real video job as cheap as the model allows (§1.9).
                resolution = "480p" if dialect == "alltoken" else None
                result = await media.videos.generate(
                    VIDEO_PROMPT, model=model, resolution=resolution, save_to=folder
                )
            if not result.files:
                raise _FileError(f"the {kind} job completed without saving a file")
            # A video job may also save its last frame (a PNG) after the video.
            kinds = [kind] + ["image"] * (len(result.files) - 1)
            formats = [
                _validate_file(k, Path(f.path)) for k, f in zip(kinds, result.files, strict=True)
            ]
        except (GatewayError, MediaJobError, _FileError) as error:
            entry.update(_media_failure(kind, model, error))
            entry["validated_at"] = now()
            entry["notes"] = gateway.redact(str(error))
            return entry, FAILURE if isinstance(error, _FileError) else media_exit_code(error)
    entry.update(
        status="passed",
        model=result.model,
        job_id=result.job_id,
        task_id=result.task_id,
        validated_at=now(),
    )
    sizes = ", ".join(
        f"{fmt} {file.size:,} bytes" for fmt, file in zip(formats, result.files, strict=True)
    )
    entry["notes"] = (
        f"saved {len(formats)} file(s): {sizes}; "
        f"{round((time.monotonic() - started) * 1000)} ms, submit to download"
    )
    return entry, OK


def _validate_file(kind: str, path: Path) -> str:
    """The file's format, when its first bytes are those of an image (or a video)."""
    from alltoken_agent.media.files import sniff_mime  # the media package: when it runs

    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise _FileError(f"the saved {kind} {path.name} cannot be read: {exc.strerror}") from None
    name = _FORMATS[kind].get(sniff_mime(head) or "")
    if name is not None:
        return name
    raise _FileError(
        f"the saved {kind} {path.name} ({len(head)} first bytes read) is not "
        + ("a PNG, JPEG or WebP image" if kind == "image" else "an MP4 or MOV video")
    )


def _media_failure(
    kind: MediaKind, model: str, error: GatewayError | MediaJobError | _FileError
) -> dict[str, Any]:
    cause = error.__cause__ if isinstance(error, MediaJobError) else None
    if isinstance(error, GatewayError) or isinstance(cause, GatewayError):
        gateway_error = error if isinstance(error, GatewayError) else cause
        assert isinstance(gateway_error, GatewayError)
        return {
            "error_code": gateway_error.code,
            "http_status": gateway_error.status,
            "attempts": gateway_error.attempts,
            "job_id": getattr(error, "job_id", None),
            "recommended_action": recommended_action(gateway_error, model),
        }
    if isinstance(error, MediaJobError):
        return {
            "error_code": error.code or "media_job_failed",
            "http_status": None,
            "job_id": error.job_id,
            "recommended_action": f"the {kind} job ended {error.status or 'without a result'} "
            "at the gateway; run the check again later, and report the failure if it repeats",
        }
    return {
        "error_code": "contract_violation",
        "http_status": None,
        "recommended_action": f"report the failure: the {kind} job completed but did not "
        f"deliver a valid {kind} file",
    }

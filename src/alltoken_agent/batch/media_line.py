"""One media line of a batch: an image or video job, journaled so it is never paid twice.

The line's job id is recorded in the batch journal before the job is journaled or sent
(``attach``); the job then follows the media journal's rules (docs/architecture.md,
"Media"): a runner that takes the line after a crash finds the job and finishes it by
polling, a job whose submit never left is sent, and one whose submit may have reached
the gateway is not sent again outside the gateway's dedupe window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from alltoken_agent.batch.media_input import MEDIA_OPTIONS
from alltoken_agent.batch.turn import LineOutcome, error_fields
from alltoken_agent.catalog import ModelPrice
from alltoken_agent.errors import AllTokenAgentError, MediaJobError, UserError
from alltoken_agent.gateway import request_tags
from alltoken_agent.media import (
    DEFAULT_IMAGE_MODEL,
    DownloadLimits,
    ImageResult,
    Media,
    PollPolicy,
    VideoResult,
)
from alltoken_agent.media.files import named_target, prompt_slug
from alltoken_agent.store.batches import JOB_KEY, BatchItem
from alltoken_agent.store.media import MediaJobRecord, new_job_id

Attach = Callable[[str], Awaitable[bool]]
"""Records a job id on the line; False when the runner no longer holds the line."""


def is_media(request: dict[str, Any] | None) -> bool:
    """Whether a journaled request is a media line (agent turns carry no ``kind``)."""
    return bool(request) and (request or {}).get("kind") in MEDIA_OPTIONS


def media_output(
    line: int,
    ident: str | int | None,
    kind: str,
    *,
    model: str | None = None,
    job_id: str | None = None,
    files: list[str] | None = None,
    usage: dict[str, Any] | None = None,
    cost: Decimal | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The output object of a media line; every key always present, unknowns as null."""
    return {
        "line": line,
        "id": ident,
        "kind": kind,
        "model": model,
        "job_id": job_id,
        "files": files if files is not None else [],
        "usage": usage,
        # A string, so no digit is lost; null when unknown, never 0.
        "cost": None if cost is None else str(cost),
        "error": error,
    }


def media_estimate(request: dict[str, Any], price: ModelPrice | None) -> Decimal:
    """What a media line is expected to cost from its model's price (0 when unknown)."""
    if price is None:
        return Decimal(0)
    options = request.get("options") or {}
    if request.get("kind") == "image" and price.per_image is not None:
        count = options.get("n")
        return price.per_image * (count if isinstance(count, int) and count > 0 else 1)
    seconds = options.get("duration")
    if price.per_video_second is not None and isinstance(seconds, int) and seconds > 0:
        return price.per_video_second * seconds
    return Decimal(0)


def media_model(request: dict[str, Any]) -> str | None:
    """The line's model, or the image default (a video's default depends on the gateway)."""
    model = request.get("model")
    if model is None and request.get("kind") == "image":
        return DEFAULT_IMAGE_MODEL
    return model if isinstance(model, str) else None


async def run_media_line(
    media: Media,
    item: BatchItem,
    *,
    attach: Attach,
    poll: PollPolicy | None = None,
    limits: DownloadLimits | None = None,
    tags: dict[str, str] | None = None,
) -> LineOutcome | None:
    """Run (or finish) the line's media job and save its files; None if the line was lost.

    The files are named from the prompt and the line, as ``image --batch`` names them
    (``003-a-red-fox.png``), in the line's ``media_dir``. The outcome's cost is None:
    media replies carry none, the runner counts the line's request records instead.
    """
    request = item.request or {}
    kind = str(request["kind"])
    ident = request.get("id")
    api = media.images if kind == "image" else media.videos
    job_id = request.get(JOB_KEY)
    journaled: str | None = None
    """The job id once the job is in the media journal (``jobs show`` knows it)."""
    try:
        with request_tags(**(tags or {})):
            if not isinstance(job_id, str):
                job_id = new_job_id()
                if not await attach(job_id):
                    return None
            if await _journaled(media, job_id) is None:
                await _create(api, item, request, job_id)
            journaled = job_id
            result = await api.resume(job_id, poll=poll, limits=limits)
    except AllTokenAgentError as error:
        fields = error_fields(error)
        if isinstance(error, UserError) and journaled is None:
            # The job's own checks refused the line before anything was sent.
            fields["code"] = "invalid_line"
        if isinstance(error, MediaJobError):
            # Where the job stands: a pending one is finished by a re-run (--retry-failed).
            fields["status"] = error.status
        output = media_output(
            item.line, ident, kind, model=request.get("model"), job_id=journaled, error=fields
        )
        return LineOutcome(output, None, ok=False, error=error)
    return LineOutcome(_done(item.line, ident, kind, result), None, ok=True)


async def _journaled(media: Media, job_id: str) -> MediaJobRecord | None:
    try:
        return await media.find(job_id)
    except UserError:
        return None


async def _create(api: Any, item: BatchItem, request: dict[str, Any], job_id: str) -> None:
    """Journal the line's job (``submitting``) under the id the line already names."""
    prompt = str(request["prompt"])
    target = named_target(str(request["media_dir"]), prompt_slug(prompt, item.line))
    options = dict(request.get("options") or {})
    model = request.get("model")
    if model is not None:
        options["model"] = model
    await api.create_job(prompt, save_to=target, job_id=job_id, **options)


def _done(line: int, ident: Any, kind: str, result: ImageResult | VideoResult) -> dict[str, Any]:
    return media_output(
        line,
        ident,
        kind,
        model=result.model,
        job_id=result.job_id,
        files=[str(path) for path in result.paths],
        usage=None if result.usage is None else result.usage.to_dict(),
    )

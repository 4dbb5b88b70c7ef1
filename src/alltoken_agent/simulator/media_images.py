"""AllToken async images (docs/wire-format.md §1.7): create, poll, and one-time delivery.

* `POST /v1/images/generations/async` and the legacy `POST /v1/images/generations`
  (identical): validate, then `202 {id: "igen_<24 hex>", status: "queued", model,
  created_at}`. `Idempotency-Key`: a second create with the same key (same API key)
  within 60 s is 409 `duplicate_request` with `error.task_id` (§3 row 7: PATHS).
* `GET /v1/images/generations/{id}`: `queued` (first third of `image_seconds`) ->
  `processing` -> `completed`, with `Retry-After` and `next_poll_after_ms` while not
  completed. Once completed, the delivery state machine of §1.7 (§3 row 6: PATHS):

  * first claim: 200, items with `b64_json` AND `r2_url` (+ `r2_url_expires_at`,
    `mime_type`), usage;
  * later GET, R2 copy alive: 200, items with `r2_url` only;
  * later GET, R2 copy expired (`r2_ttl`): 410 `image_expired`;
  * later GET, no R2 copy (`r2_enabled = False`, or job fault `no_r2`): 410
    `image_already_retrieved`;
  * first claim after `image_claim_ttl` (30 min), or job fault `expire`: 410
    `image_expired`;
  * GET while another request delivers the first claim (lasts `claim_seconds`): 409
    `claim_in_progress` (invented slug).

  Job faults `fail[:code]` / `cancel` end the task `failed` / `cancelled` with `error`.

Images are real files (`imaging.py`) of the requested size and format, rendered at the
first claim; the R2 copy is served by the simulated bucket (`r2.py`). The `r2_enabled`
switch is read at the first claim.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from alltoken_agent.simulator.imaging import MIME_TYPES, ImageFormat, render_image
from alltoken_agent.simulator.media_store import MediaState, MediaTask, StoredObject, rfc3339
from alltoken_agent.simulator.media_wire import (
    MediaRequestError,
    check_choice,
    claim_idempotency,
    duplicate,
    find_task,
    incoming,
    is_int,
    media_endpoint,
    require,
    task_phase,
)
from alltoken_agent.simulator.pipeline import Handler, RequestContext

IMAGE_MODELS: Final = ("gpt-image-2", "wan2.7-image", "wan2.7-image-pro")
"""§1.7 `model` values (the AllToken image list shows exactly these)."""

SEEDED_MODELS: Final = frozenset({"wan2.7-image", "wan2.7-image-pro"})
"""§1.7: `seed` is honoured only by these."""

MAX_PROMPT: Final = 32_000
AUTO_SIZE: Final = (1024, 1024)
"""What `size: auto` renders (invented: the docs' default square)."""

MAX_POLL_MS: Final = 2000
"""Longest `next_poll_after_ms` (§1.12 recommends polling images every 2 s)."""

_EXTENSIONS: Final[dict[str, str]] = {"png": "png", "jpeg": "jpg", "webp": "webp"}
_WXH = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
# invented: output tokens per 1024x1024 image by quality (the OpenAI gpt-image-1 table).
_TOKENS_PER_MEGAPIXEL: Final[dict[str, int]] = {"low": 272, "medium": 1056, "high": 4160}


def parse_size(value: Any, param: str = "size") -> tuple[int, int]:
    """Parse `auto` or `WIDTHxHEIGHT` under the gpt-image-2 rules of §1.7.

    Both sides multiples of 16, at most 3840x2160 in either orientation (read as: long
    side <= 3840 and short side <= 2160, (I)), aspect between 1:3 and 3:1. The spec gives
    no rules for wan2.7-image(-pro); the same ones are applied (invented).

    Raises:
        MediaRequestError: Not a size, or outside the rules.
    """
    if value is None or value == "auto":
        return AUTO_SIZE
    match = _WXH.match(value) if isinstance(value, str) else None
    require(match is not None, param, f"{param} must be 'auto' or WIDTHxHEIGHT, e.g. 1024x1024")
    assert match is not None
    width, height = int(match[1]), int(match[2])
    require(
        width % 16 == 0 and height % 16 == 0,
        param,
        f"{param} {value}: both sides must be multiples of 16",
    )
    require(
        max(width, height) <= 3840 and min(width, height) <= 2160,
        param,
        f"{param} {value}: at most 3840x2160 (or 2160x3840)",
    )
    require(
        max(width, height) <= 3 * min(width, height),
        param,
        f"{param} {value}: the aspect ratio must be between 1:3 and 3:1",
    )
    return width, height


def validate_image_request(body: Any) -> dict[str, Any]:
    """Validate an AllToken image create body (§1.7); return the parameters the task keeps.

    Raises:
        MediaRequestError: A field is missing or outside §1.7.
    """
    require(isinstance(body, Mapping), None, "the request body must be a JSON object")
    model = body.get("model")
    require(
        isinstance(model, str) and model in IMAGE_MODELS,
        "model",
        f"model must be one of {', '.join(IMAGE_MODELS)}",
    )
    prompt = body.get("prompt")
    require(isinstance(prompt, str) and bool(prompt.strip()), "prompt", "prompt is required")
    require(len(prompt) <= MAX_PROMPT, "prompt", f"prompt is longer than {MAX_PROMPT} characters")
    n = body.get("n", 1)
    require(is_int(n) and 1 <= n <= 10, "n", "n must be an integer from 1 to 10")
    width, height = parse_size(body.get("size"))
    check_choice(body, "quality", ("auto", "low", "medium", "high"))
    check_choice(body, "output_format", ("png", "jpeg", "webp"))
    check_choice(body, "background", ("auto", "opaque", "transparent"))
    check_choice(body, "moderation", ("auto", "low"))
    fmt = body.get("output_format") or "png"
    compression = body.get("output_compression")
    require(
        compression is None or (is_int(compression) and 0 <= compression <= 100),
        "output_compression",
        "output_compression must be an integer from 0 to 100",
    )
    transparent = body.get("background") == "transparent"
    # invented: §1.7 does not say what jpeg + transparent does; JPEG has no alpha, so 400.
    require(
        not (transparent and fmt == "jpeg"),
        "background",
        "background 'transparent' needs output_format png or webp (JPEG has no alpha)",
    )
    seed = body.get("seed")
    require(
        seed is None or (is_int(seed) and 0 <= seed <= 2_147_483_647),
        "seed",
        "seed must be an integer from 0 to 2147483647",
    )
    require(body.get("user") is None or isinstance(body.get("user"), str), "user", "bad user")
    quality = body.get("quality") or "auto"
    return {
        "prompt": prompt,
        "n": n,
        "width": width,
        "height": height,
        "fmt": fmt,
        # invented: `quality: auto` is reported as `medium`; output_compression is
        # ignored for png (§1.7 says jpeg/webp only; no error is documented).
        "quality": "medium" if quality == "auto" else quality,
        "compression": compression if fmt != "png" else None,
        "transparent": transparent,
        "seed": seed if model in SEEDED_MODELS else None,
    }


def image_usage(prompt: str, width: int, height: int, quality: str, n: int) -> dict[str, Any]:
    """Return §1.7 usage (invented token counts, stable per request)."""
    text_tokens = max(1, len(prompt) // 4)
    per_image = _TOKENS_PER_MEGAPIXEL.get(quality, 1056) * width * height // (1024 * 1024)
    output = max(1, per_image) * n
    return {
        "input_tokens": text_tokens,
        "output_tokens": output,
        "total_tokens": text_tokens + output,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
    }


def render_task_images(task: MediaTask) -> list[bytes]:
    """Render the `n` images of a task (deterministic per model, prompt, index, seed)."""
    p = task.params
    fmt: ImageFormat = p["fmt"]
    return [
        render_image(
            f"{task.model}|{p['prompt']}|{index}|{p['seed']}",
            p["width"],
            p["height"],
            fmt,
            transparent=p["transparent"],
            compression=p["compression"],
        )
        for index in range(p["n"])
    ]


def _pending(task: MediaTask, status: str, now: float) -> JSONResponse:
    remaining_ms = math.ceil((task.created + task.duration - now) * 1000)
    # invented: poll again when the job should be done, at most every 2 s (§1.12).
    next_ms = max(50, min(remaining_ms, MAX_POLL_MS))
    updated = task.created if status == "queued" else task.created + task.duration / 3
    body = {
        "id": task.id,
        "status": status,
        "model": task.model,
        "next_poll_after_ms": next_ms,
        "created_at": rfc3339(task.created),
        "updated_at": rfc3339(updated),
    }
    # §1.1: Retry-After is integer seconds; never 0 so a client cannot spin.
    return JSONResponse(body, headers={"Retry-After": str(max(1, math.ceil(next_ms / 1000)))})


def _ended(task: MediaTask, status: str) -> JSONResponse:
    fault = task.job_fault
    if status == "failed":
        code = fault.code if fault is not None else "upstream_error"
        message = "The upstream provider failed to generate the image (simulated job fault)."
    else:
        code = "cancelled"  # invented slug
        message = "The image task was cancelled upstream (simulated job fault)."
    body = {
        "id": task.id,
        "status": status,
        "model": task.model,
        "error": {"code": code, "type": "api_error", "message": message},
        "created_at": rfc3339(task.created),
        "updated_at": rfc3339(task.created + task.duration),
    }
    return JSONResponse(body)


def _gone(code: str, message: str) -> MediaRequestError:
    return MediaRequestError(message, status=410, code=code)


class ImageEndpoints:
    """Create and poll handlers bound to one `MediaState`."""

    def __init__(self, media: MediaState) -> None:
        self.media = media

    def handlers(self) -> tuple[Handler, Handler]:
        """Return (create, poll) handlers for the `/v1` pipeline."""
        return media_endpoint(self.create), media_endpoint(self.poll)

    async def create(self, body: Any, ctx: RequestContext) -> Response:
        """`POST /v1/images/generations[/async]`."""
        media = self.media
        params = validate_image_request(body)
        where = incoming(ctx)
        header_fault = where.header_job_fault()
        task_id = media.new_hex("igen_")
        with media.lock:
            original = claim_idempotency(
                media, "image", where.owner, where.idempotency_key, task_id
            )
            if original is not None:
                return duplicate(ctx, original)
            task = MediaTask(
                id=task_id,
                kind="image",
                dialect="alltoken",
                model=body["model"],
                owner=where.owner,
                created=media.now(),
                duration=media.image_seconds,
                job_fault=header_fault or media.pop_job_fault(),
                params=params,
            )
            if task.job_fault is not None and task.job_fault.kind == "slow":
                task.duration = task.job_fault.amount
            media.record_submit(task)
        body_out = {
            "id": task.id,
            "status": "queued",
            "model": task.model,
            "created_at": rfc3339(task.created),
        }
        return JSONResponse(body_out, status_code=202)

    async def poll(self, body: Any, ctx: RequestContext) -> Response:
        """`GET /v1/images/generations/{id}`."""
        media = self.media
        where = incoming(ctx)
        task_id = where.request.path_params["task_id"]
        task = find_task(media, task_id, where.owner, kind="image", dialect="alltoken")
        if task is None:
            raise MediaRequestError(f"image task {task_id} not found", status=404, code="not_found")
        media.record_poll(task.id)
        now = media.now()
        status = task_phase(task, now)
        if status in ("queued", "processing"):
            return _pending(task, status, now)
        if status in ("failed", "cancelled"):
            return _ended(task, status)
        return await self._deliver(task, now, where.object_url)

    async def _deliver(
        self, task: MediaTask, now: float, object_url: Callable[[str], str]
    ) -> Response:
        media = self.media
        done = task.created + task.duration
        with media.lock:
            if task.claiming:
                raise MediaRequestError(
                    f"image task {task.id} is being claimed by another request; GET it again",
                    status=409,
                    code="claim_in_progress",
                )
            first = not task.claimed
            if first:
                expired = task.job_fault is not None and task.job_fault.kind == "expire"
                if expired or now >= done + media.image_claim_ttl:
                    raise _gone(
                        "image_expired",
                        f"image task {task.id} expired before it was retrieved; submit again",
                    )
                task.claiming = True
        if not first:
            if not task.r2:
                raise _gone(
                    "image_already_retrieved",
                    f"image task {task.id} was already retrieved and has no stored copy; "
                    "save b64_json on the first read",
                )
            if now >= done + media.r2_ttl:
                raise _gone("image_expired", f"the stored copy of image task {task.id} expired")
            return JSONResponse(self._completed(task, done, object_url, None))
        try:
            if media.claim_seconds:
                await asyncio.sleep(media.claim_seconds)
            files = await asyncio.to_thread(render_task_images, task)
            fault = task.job_fault
            with media.lock:
                task.r2 = media.r2_enabled and not (fault is not None and fault.kind == "no_r2")
            if task.r2:
                self._store(task, files, done)
            body = self._completed(task, done, object_url, files)
            with media.lock:
                task.claimed = True
        finally:
            with media.lock:
                task.claiming = False
        return JSONResponse(body)

    def _store(self, task: MediaTask, files: list[bytes], done: float) -> None:
        fmt = task.params["fmt"]
        with self.media.lock:
            for index, data in enumerate(files):
                key = f"images/{task.id}/{index}.{_EXTENSIONS[fmt]}"
                self.media.objects[key] = StoredObject(
                    MIME_TYPES[fmt], done + self.media.r2_ttl, data=data
                )
                task.object_keys.append(key)

    def _completed(
        self,
        task: MediaTask,
        done: float,
        object_url: Callable[[str], str],
        files: list[bytes] | None,
    ) -> dict[str, Any]:
        p = task.params
        mime = MIME_TYPES[p["fmt"]]
        items: list[dict[str, Any]] = []
        for index in range(p["n"]):
            item: dict[str, Any] = {}
            if files is not None:
                item["b64_json"] = base64.b64encode(files[index]).decode()
            if task.r2:
                item["r2_url"] = object_url(task.object_keys[index])
                item["r2_url_expires_at"] = rfc3339(done + self.media.r2_ttl)
            item["mime_type"] = mime
            items.append(item)
        return {
            "id": task.id,
            "status": "completed",
            "model": task.model,
            "created": int(task.created),
            "data": items,
            "usage": image_usage(p["prompt"], p["width"], p["height"], p["quality"], p["n"]),
            "size": f"{p['width']}x{p['height']}",
            "quality": p["quality"],
            "output_format": p["fmt"],
            "completed_at": rfc3339(done),
            "expires_at": rfc3339(done + self.media.image_claim_ttl),
        }

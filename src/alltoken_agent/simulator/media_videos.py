"""AllToken video tasks (docs/wire-format.md §1.9): create, poll, list, cancel.

* `POST /v1/videos/generations`: validate (`video_params.py`), 202 task object with
  `id: "vgen_<24 hex>"`, `status: "queued"`. `Idempotency-Key`: the spec says its effect
  here is unknown; the simulator applies the image rule (60 s, 409 `duplicate_request`
  with `error.task_id`) -- invented.
* `GET /v1/videos/generations/{id}`: `queued` (first third of `video_seconds`) ->
  `processing` -> `completed` (§3 row 8: `completed`, never `succeeded`) with
  `video_url` (served by the simulated bucket), `video_url_expires_at`, `video_url_ttl`
  (remaining seconds), `last_frame_url` when `return_last_frame`, and `usage`. When the
  URL expires (`video_url_ttl` setting, or job fault `expire`) the task is `expired` with
  `is_expired: true`; the URL fields stay, the link answers 403 (invented). Job faults
  `fail[:code]` -> `failed` with `error{code, message}`; `cancel` -> `cancelled`.
* `GET /v1/videos/generations?limit=&status=`: `{items, total}`, newest first; `total`
  counts every task matching `status`, before `limit` (invented: limit 1-100, default 20).
* `POST /v1/videos/generations/{id}/cancel`: a queued/processing task becomes
  `cancelled` (200, task object); any other status is 409 `task_not_cancellable`
  (slug invented; §1.9 documents 409 for completed/cancelled, the simulator also refuses
  failed/expired).

Tasks are visible only to the API key that created them (invented: 404 otherwise).
Videos are billed at create, once per task (invented: no refund on cancel or failure).
"""

from __future__ import annotations

import functools
import hashlib
import math
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from alltoken_agent.simulator.media_store import MediaState, MediaTask, StoredObject, rfc3339
from alltoken_agent.simulator.media_wire import (
    Incoming,
    MediaRequestError,
    claim_idempotency,
    duplicate,
    find_task,
    incoming,
    is_int,
    media_endpoint,
    task_phase,
)
from alltoken_agent.simulator.pipeline import Handler, RequestContext
from alltoken_agent.simulator.uploads import bind_uploads
from alltoken_agent.simulator.video_files import VIDEO_TYPES, last_frame, video_bytes
from alltoken_agent.simulator.video_params import dimensions, validate_video_request

STATUSES: Final = ("queued", "processing", "completed", "failed", "expired", "cancelled")
"""§1.9 task statuses."""
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100

_ECHOED: Final = (
    "input_type", "duration", "frames", "fps", "resolution", "ratio", "seed",
    "generate_audio", "input_has_video", "draft", "draft_task_id", "service_tier",
    "execution_expires_after", "safety_identifier", "tools",
)  # fmt: skip


def video_status(task: MediaTask, now: float) -> str:
    """§1.9 status at clock time `now` (adds `expired` to the common phases)."""
    phase = task_phase(task, now)
    if phase == "completed" and now >= task.params["url_expires_at"]:
        return "expired"
    return phase


def _seed_for(task_id: str) -> int:
    # invented: the seed "used" when none was sent, stable per task.
    return int(hashlib.sha256(task_id.encode()).hexdigest()[:8], 16) % 2_147_483_647


def video_usage(params: dict[str, Any]) -> dict[str, Any]:
    """Usage of a finished video (invented: seedance-style width*height*fps*seconds/1024)."""
    width, height = dimensions(params["resolution"], params["ratio"])
    tokens = width * height * params["fps"] * params["duration"] // 1024
    usage: dict[str, Any] = {"completion_tokens": tokens, "total_tokens": tokens}
    if params["tools"]:
        usage["tool_usage"] = {"web_search": 1}
    return usage


class VideoEndpoints:
    """Create, poll, list and cancel handlers bound to one `MediaState`."""

    def __init__(self, media: MediaState) -> None:
        self.media = media

    def handlers(self) -> dict[str, Handler]:
        """Return the handlers by name: create, poll, list, cancel."""
        return {
            "create": media_endpoint(self.create),
            "poll": media_endpoint(self.poll),
            "list": media_endpoint(self.list),
            "cancel": media_endpoint(self.cancel),
        }

    def task_object(
        self, task: MediaTask, now: float, where: Incoming, *, created: bool = False
    ) -> dict[str, Any]:
        """Render the §1.9 task object as seen at clock time `now` (`queued` when created)."""
        p = task.params
        status = "queued" if created else video_status(task, now)
        done = task.created + task.duration
        body: dict[str, Any] = {
            "id": task.id,
            "status": status,
            "model": task.model,
            "is_expired": status == "expired",
            "created_at": rfc3339(task.created),
        }
        for name in _ECHOED:
            if p.get(name) is not None:
                body[name] = p[name]
        if p.get("seed") is None:
            body["seed"] = _seed_for(task.id)
        if status == "queued":
            updated = task.created
        elif status == "processing":
            updated = task.created + task.duration / 3
        elif status == "cancelled" and task.cancelled_at is not None:
            updated = task.cancelled_at
        else:
            updated = done
        if status in ("completed", "expired"):
            expires = p["url_expires_at"]
            self._store(task, done, expires)
            body["video_url"] = where.object_url(task.object_keys[0])
            if task.job_fault is not None and task.job_fault.kind == "file_url":
                body["video_url"] = "file:///etc/passwd"  # a hostile gateway's link
            body["video_url_expires_at"] = rfc3339(expires)
            body["video_url_ttl"] = max(0, math.floor(expires - now))
            if p["return_last_frame"]:
                body["last_frame_url"] = where.object_url(task.object_keys[1])
            body["usage"] = video_usage(p)
            body["completed_at"] = rfc3339(done)
        elif status == "failed" or (status == "cancelled" and task.cancelled_at is None):
            fault = task.job_fault
            failed = status == "failed"
            body["error"] = {
                "code": fault.code if failed and fault is not None else "cancelled",
                "message": "The upstream provider failed to generate the video (simulated)."
                if failed
                else "The video task was cancelled upstream (simulated job fault).",
            }
        body["updated_at"] = rfc3339(updated)
        return body

    def _store(self, task: MediaTask, done: float, expires: float) -> None:
        """Put the result files in the bucket the first time the task is seen done."""
        media = self.media
        with media.lock:
            if task.object_keys:
                return
            container = task.params["output_format"]
            key = f"videos/{task.id}.{container}"
            fault = task.job_fault
            huge = fault is not None and fault.kind == "huge"
            media.objects[key] = StoredObject(
                VIDEO_TYPES[container],
                expires,
                data=video_bytes(container),
                pad_to=int(fault.amount * 1024 * 1024) if fault is not None and huge else 0,
            )
            task.object_keys.append(key)
            if task.params["return_last_frame"]:
                width, height = dimensions(task.params["resolution"], task.params["ratio"])
                frame_key = f"videos/{task.id}-last-frame.png"
                producer = functools.partial(last_frame, task.id, width, height)
                media.objects[frame_key] = StoredObject("image/png", expires, producer=producer)
                task.object_keys.append(frame_key)

    def _find(self, ctx: RequestContext) -> tuple[MediaTask, Incoming]:
        where = incoming(ctx)
        task_id = where.request.path_params["task_id"]
        task = find_task(self.media, task_id, where.owner, kind="video", dialect="alltoken")
        if task is None:
            raise MediaRequestError(f"video task {task_id} not found", status=404, code="not_found")
        return task, where

    async def create(self, body: Any, ctx: RequestContext) -> Response:
        """`POST /v1/videos/generations`."""
        media = self.media
        where = incoming(ctx)
        request = validate_video_request(body, media, where.owner)
        header_fault = where.header_job_fault()
        task_id = media.new_hex("vgen_")
        with media.lock:
            original = claim_idempotency(
                media, "video", where.owner, where.idempotency_key, task_id
            )
            if original is not None:
                return duplicate(ctx, original)
            bind_uploads(media, request.uploads, task_id)
            now = media.now()
            fault = header_fault or media.pop_job_fault()
            slow = fault is not None and fault.kind == "slow"
            seconds = fault.amount if fault is not None and slow else media.video_seconds
            done = now + seconds
            ttl = 0.0 if fault is not None and fault.kind == "expire" else media.video_url_ttl
            task = MediaTask(
                id=task_id,
                kind="video",
                dialect="alltoken",
                model=body["model"],
                owner=where.owner,
                created=now,
                duration=seconds,
                job_fault=fault,
                params={**request.params, "url_expires_at": done + ttl},
            )
            media.record_submit(task)
        return JSONResponse(self.task_object(task, now, where, created=True), status_code=202)

    async def poll(self, body: Any, ctx: RequestContext) -> Response:
        """`GET /v1/videos/generations/{id}`."""
        task, where = self._find(ctx)
        self.media.record_poll(task.id)
        return JSONResponse(self.task_object(task, self.media.now(), where))

    async def cancel(self, body: Any, ctx: RequestContext) -> Response:
        """`POST /v1/videos/generations/{id}/cancel`."""
        task, where = self._find(ctx)
        media = self.media
        with media.lock:
            now = media.now()
            status = video_status(task, now)
            if status not in ("queued", "processing"):
                raise MediaRequestError(
                    f"video task {task.id} is {status}; only queued or processing tasks can "
                    "be cancelled",
                    status=409,
                    code="task_not_cancellable",
                )
            task.cancelled_at = now
        return JSONResponse(self.task_object(task, now, where))

    async def list(self, body: Any, ctx: RequestContext) -> Response:
        """`GET /v1/videos/generations?limit=&status=`."""
        media = self.media
        where = incoming(ctx)
        query = where.request.query_params
        raw_limit = query.get("limit", str(DEFAULT_LIMIT))
        limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() else -1
        if not (is_int(limit) and 1 <= limit <= MAX_LIMIT):
            raise MediaRequestError(
                f"limit must be an integer from 1 to {MAX_LIMIT}", param="limit"
            )
        wanted = query.get("status")
        if wanted is not None and wanted not in STATUSES:
            raise MediaRequestError(f"status must be one of {', '.join(STATUSES)}", param="status")
        now = media.now()
        with media.lock:
            mine = [
                t
                for t in media.tasks.values()
                if t.kind == "video" and t.dialect == "alltoken" and t.owner == where.owner
            ]
        newest = [t for _, t in sorted(enumerate(mine), key=lambda p: (p[1].created, p[0]))][::-1]
        matching = [t for t in newest if wanted is None or video_status(t, now) == wanted]
        items = [self.task_object(t, now, where) for t in matching[:limit]]
        return JSONResponse({"items": items, "total": len(matching)})

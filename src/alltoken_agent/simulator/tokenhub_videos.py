"""TokenHub video tasks: `POST /v1/video/generations`, `GET /v1/video/tasks/{id}?model=`.

Body shapes keyed by model id (docs/wire-format.md §2.4, §3 row 17); a body of the wrong
shape is 400 (invented). Statuses move with `video_seconds` like AllToken's (a third
pending, then running, then done).

* A, the contract's flat shape (wan2.6-t2v): create `{model, prompt}` -> `{task_id, task_status:
  PENDING, request_id}` (field names invented: §2.4 says only "a task id"); poll ->
  `{task_id, task_status, video_url?, request_id}`.
* B, DashScope (wan2.7-t2v), needs the header `X-DashScope-Async: enable`: create
  `{model, input: {prompt}, parameters: {resolution: 720P, ratio, prompt_extend,
  watermark, duration}}` -> `{output: {task_status: PENDING, task_id: <uuid>},
  request_id}`; poll -> `{request_id, output: {task_id, task_status, video_url?,
  submit_time, end_time?}, usage?}` (the times and `usage{video_duration, video_ratio,
  video_count}` are DashScope-style passthrough, I).
* C, OpenAI-ish (happyhorse-1.0-t2v, also as `tokenhub/...`): create `{model, prompt,
  duration, width, height}` or `{..., resolution, ratio}` -> `{id: "task_...", object:
  "video.generation.task", status: pending, model}`; poll -> the same object with
  `status` pending/running/succeeded (I) and `video_url` when succeeded (I).

Statuses A/B: PENDING, RUNNING, SUCCEEDED; C: pending, running, succeeded. Failure and
cancel words are invented (§3 row 18): FAILED / CANCELED with `code`, `message` (A/B;
in `output` for B) and failed / cancelled with `error{code, message}` (C). B without the
async header is 400 (invented). The `model` query must repeat the create model exactly
(missing or different: 400, invented). `expire` job fault: status stays SUCCEEDED but
the URL is already dead (403; invented). No idempotency (§2.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from alltoken_agent.simulator.media_store import MediaState, MediaTask, StoredObject, rfc3339
from alltoken_agent.simulator.media_wire import (
    Incoming,
    MediaRequestError,
    check_optional,
    find_task,
    incoming,
    is_int,
    media_endpoint,
    require,
    task_phase,
)
from alltoken_agent.simulator.pipeline import Handler, RequestContext
from alltoken_agent.simulator.tokenhub_images import parse_star_size, resolve_shape
from alltoken_agent.simulator.video_files import VIDEO_TYPES, video_bytes

VIDEO_SHAPES: Final[dict[str, str]] = {
    "wan2.6-t2v": "A",
    "wan2.7-t2v": "B",
    "happyhorse-1.0-t2v": "C",
}
"""Catalog model id -> TokenHub video body shape (§2.4, §3 row 17)."""

ASYNC_HEADER: Final = "X-DashScope-Async"

_UPPER: Final[dict[str, str]] = {
    "queued": "PENDING",
    "processing": "RUNNING",
    "completed": "SUCCEEDED",
    "failed": "FAILED",
    "cancelled": "CANCELED",
}
_LOWER: Final[dict[str, str]] = {
    "queued": "pending",
    "processing": "running",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
}
# invented limits shared by the shapes.
_DURATION: Final = (1, 15)
_RATIOS: Final = ("16:9", "9:16", "1:1", "4:3", "3:4")


def _duration(value: Any, param: str) -> int:
    if value is None:
        return 5
    low, high = _DURATION
    require(is_int(value) and low <= value <= high, param, f"{param} must be {low}-{high} s")
    return int(value)


def _prompt(value: Any, param: str) -> str:
    require(isinstance(value, str) and bool(value.strip()), param, f"{param} is required")
    return str(value)


def _shape_a(body: Mapping[str, Any], where: Incoming) -> dict[str, Any]:
    require("input" not in body, "input", "this model takes the flat body {model, prompt}")
    prompt = _prompt(body.get("prompt"), "prompt")
    if body.get("size") is not None:
        parse_star_size(body["size"], "size", "1280*720")
    check_optional(body, "seed", int, "an integer")
    return {"prompt": prompt, "duration": _duration(body.get("duration"), "duration")}


def _shape_b(body: Mapping[str, Any], where: Incoming) -> dict[str, Any]:
    require(
        where.request.headers.get(ASYNC_HEADER, "").strip().lower() == "enable",
        ASYNC_HEADER,
        f"this model runs asynchronously only; send the header '{ASYNC_HEADER}: enable'",
    )
    block = body.get("input")
    require(
        "prompt" not in body and isinstance(block, Mapping),
        "input",
        "this model takes the DashScope body {model, input: {prompt}, parameters}",
    )
    assert isinstance(block, Mapping)
    prompt = _prompt(block.get("prompt"), "input.prompt")
    parameters = body.get("parameters") or {}
    require(isinstance(parameters, Mapping), "parameters", "parameters must be an object")
    resolution = parameters.get("resolution") or "1080P"
    require(
        resolution in ("480P", "720P", "1080P"),
        "parameters.resolution",
        "parameters.resolution must be 480P, 720P or 1080P",
    )
    ratio = parameters.get("ratio") or "16:9"
    require(ratio in _RATIOS, "parameters.ratio", f"parameters.ratio must be one of {_RATIOS}")
    for name in ("prompt_extend", "watermark"):
        check_optional(parameters, name, bool, "true or false")
    duration = _duration(parameters.get("duration"), "parameters.duration")
    return {"prompt": prompt, "duration": duration, "ratio": ratio}


def _shape_c(body: Mapping[str, Any], where: Incoming) -> dict[str, Any]:
    prompt = _prompt(body.get("prompt"), "prompt")
    width: Any = body.get("width")
    height: Any = body.get("height")
    if width is not None or height is not None:
        require(
            all(is_int(v) and 256 <= v <= 4096 for v in (width, height)),
            "width",
            "width and height go together, each 256 to 4096 pixels",
        )
    else:
        resolution = body.get("resolution") or "720p"
        require(
            resolution in ("480p", "720p", "1080p"), "resolution", "resolution: 480p/720p/1080p"
        )
        ratio = body.get("ratio") or "16:9"
        require(ratio in _RATIOS, "ratio", f"ratio must be one of {_RATIOS}")
    return {"prompt": prompt, "duration": _duration(body.get("duration"), "duration")}


_VALIDATORS: Final = {"A": _shape_a, "B": _shape_b, "C": _shape_c}


class TokenHubVideos:
    """Create and poll handlers bound to one `MediaState`."""

    def __init__(self, media: MediaState) -> None:
        self.media = media

    def handlers(self) -> tuple[Handler, Handler]:
        """Return (create, poll) handlers for the `/v1` pipeline."""
        return media_endpoint(self.create), media_endpoint(self.poll)

    def _new_id(self, shape: str) -> str:
        if shape == "C":
            return self.media.new_hex("task_")
        raw = self.media.new_hex("", 32)  # DashScope task ids are UUIDs
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    async def create(self, body: Any, ctx: RequestContext) -> Response:
        """`POST /v1/video/generations` (TokenHub)."""
        media = self.media
        model_id, shape = resolve_shape(body, VIDEO_SHAPES, "video")
        where = incoming(ctx)
        params = _VALIDATORS[shape](body, where)
        fault = where.header_job_fault() or media.pop_job_fault()
        now = media.now()
        done = now + media.video_seconds
        expired = fault is not None and fault.kind == "expire"
        task = MediaTask(
            id=self._new_id(shape),
            kind="video",
            dialect="tokenhub",
            model=body["model"],
            owner=where.owner,
            created=now,
            duration=media.video_seconds,
            job_fault=fault,
            params={**params, "url_expires_at": done if expired else done + media.tokenhub_url_ttl},
            shape=shape,
        )
        media.record_submit(task)
        if shape == "A":
            answer: dict[str, Any] = {
                "task_id": task.id,
                "task_status": "PENDING",
                "request_id": ctx.request_id,
            }
        elif shape == "B":
            answer = {
                "output": {"task_status": "PENDING", "task_id": task.id},
                "request_id": ctx.request_id,
            }
        else:
            answer = {
                "id": task.id,
                "object": "video.generation.task",
                "status": "pending",
                "model": task.model,
            }
        return JSONResponse(answer)

    async def poll(self, body: Any, ctx: RequestContext) -> Response:
        """`GET /v1/video/tasks/{task_id}?model=<same model>` (TokenHub)."""
        media = self.media
        where = incoming(ctx)
        task_id = where.request.path_params["task_id"]
        task = find_task(media, task_id, where.owner, kind="video", dialect="tokenhub")
        if task is None:
            raise MediaRequestError(f"video task {task_id} not found", status=404, code="not_found")
        model = where.request.query_params.get("model")
        require(
            model == task.model,
            "model",
            f"the model query parameter must repeat the create model {task.model!r}",
        )
        media.record_poll(task.id)
        return JSONResponse(self._answer(task, media.now(), ctx, where))

    def _video_url(self, task: MediaTask, where: Incoming) -> str:
        with self.media.lock:
            if not task.object_keys:
                key = f"tokenhub/{task.id}.mp4"
                self.media.objects[key] = StoredObject(
                    VIDEO_TYPES["mp4"], task.params["url_expires_at"], data=video_bytes("mp4")
                )
                task.object_keys.append(key)
        return where.object_url(task.object_keys[0])

    def _answer(
        self, task: MediaTask, now: float, ctx: RequestContext, where: Incoming
    ) -> dict[str, Any]:
        phase = task_phase(task, now)
        fault = task.job_fault
        url = self._video_url(task, where) if phase == "completed" else None
        code = fault.code if phase == "failed" and fault is not None else "cancelled"
        message = f"The video task ended {phase} (simulated job fault)."
        if task.shape == "C":
            body: dict[str, Any] = {
                "id": task.id,
                "object": "video.generation.task",
                "status": _LOWER[phase],
                "model": task.model,
            }
            if url is not None:
                body["video_url"] = url
            if phase in ("failed", "cancelled"):
                body["error"] = {"code": code, "message": message}
            return body
        output: dict[str, Any] = {"task_id": task.id, "task_status": _UPPER[phase]}
        if url is not None:
            output["video_url"] = url
        if phase in ("failed", "cancelled"):
            output["code"], output["message"] = code, message
        if task.shape == "A":
            return {**output, "request_id": ctx.request_id}
        output["submit_time"] = rfc3339(task.created)
        if phase not in ("queued", "processing"):
            output["end_time"] = rfc3339(task.created + task.duration)
        answer: dict[str, Any] = {"request_id": ctx.request_id, "output": output}
        if phase == "completed":
            answer["usage"] = {
                "video_duration": task.params["duration"],
                "video_ratio": task.params["ratio"],
                "video_count": 1,
            }
        return answer

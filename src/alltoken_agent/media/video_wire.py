"""Video requests and answers in each dialect (docs/wire-format.md §1.9, §2.4, §3 rows 8, 17, 18).

* AllToken: ``POST /videos/generations`` -> ``202`` task object ``vgen_...``; ``GET
  /videos/generations/{id}`` until ``completed`` (defensively also ``succeeded``, §3
  row 8), ``failed``, ``expired`` or ``cancelled``; the video is at ``video_url`` until
  ``video_url_expires_at``.
* TokenHub: ``POST /video/generations``, then ``GET /video/tasks/{id}?model=<same
  model>``. Shapes by model family (§2.4): A (``wan2.6-t2v``, flat), B (``wan2.7-t2v``,
  DashScope ``input``/``parameters`` and ``X-DashScope-Async: enable``), C
  (``happyhorse-1.0-t2v``, OpenAI-ish). Statuses PENDING/RUNNING/SUCCEEDED (lower case
  in C); failure words are undocumented (§3 row 18), so an unknown word keeps polling
  until the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from alltoken_agent.gateway._envelope import parse_retry_after
from alltoken_agent.media._wire import PollState, Route
from alltoken_agent.media.results import VideoTask, mapping, parse_time

STATUSES = {
    "queued": "queued",
    "pending": "queued",
    "submitted": "queued",
    "processing": "processing",
    "running": "processing",
    "in_progress": "processing",
    "completed": "completed",
    "succeeded": "completed",
    "success": "completed",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "expired": "expired",
}
"""Every status word seen in either dialect, to ours."""

_TOKENHUB_SHAPES = {"wan2.6-t2v": "A", "wan2.7-t2v": "B", "happyhorse-1.0-t2v": "C"}
ASYNC_HEADER = {"X-DashScope-Async": "enable"}


def _id(data: Mapping[str, Any]) -> str | None:
    output = mapping(data.get("output"))
    value = data.get("id") or data.get("task_id") or output.get("task_id")
    return str(value) if value else None


ALLTOKEN_ROUTE = Route(
    create_path="videos/generations",
    task_id=_id,
    # docs/wire-format.md marks Idempotency-Key on /videos/generations as unspecified (N8N
    # sends one; effect unknown). We send it and retry a dropped submit as the image
    # route does, since the issue asks that a retried submit never pays twice; if the
    # gateway ignored the key, such a retry could be billed twice.
    idempotent=True,
    poll_path="videos/generations/{task_id}",
)


def tokenhub_shape(model: str) -> str:
    """TokenHub's body shape for a video model (§2.4): by id, else by family; C if unknown."""
    bare = model.rsplit("/", 1)[-1]
    if bare in _TOKENHUB_SHAPES:
        return _TOKENHUB_SHAPES[bare]
    if bare.startswith(("wan2.6", "wan2.5", "wanx")):
        return "A"
    return "B" if bare.startswith("wan") else "C"


def tokenhub_route(model: str) -> Route:
    """Create and poll routes of a TokenHub video model (the poll repeats the model)."""
    return Route(
        create_path="video/generations",
        task_id=_id,
        headers=ASYNC_HEADER if tokenhub_shape(model) == "B" else {},
        poll_path="video/tasks/{task_id}",
        poll_params={"model": model},
    )


def alltoken_body(
    model: str, prompt: str, options: Mapping[str, Any], content: list[dict[str, Any]]
) -> dict[str, Any]:
    """The AllToken create body; options left as None are not sent."""
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    body.update({k: v for k, v in options.items() if v is not None})
    if content:
        body["content"] = content
    return body


def tokenhub_body(model: str, prompt: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The TokenHub create body in the model's shape (only documented fields, §2.4)."""
    given: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    shape = tokenhub_shape(model)
    if shape == "A":
        keep: dict[str, Any] = {k: given[k] for k in ("duration", "seed") if k in given}
        return {"model": model, "prompt": prompt, **keep}
    if shape == "B":
        names = ("ratio", "duration", "watermark")
        parameters: dict[str, Any] = {k: given[k] for k in names if k in given}
        if "resolution" in given:
            parameters["resolution"] = str(given["resolution"]).upper()
        return {"model": model, "input": {"prompt": prompt}, "parameters": parameters}
    keep = {k: given[k] for k in ("duration", "resolution", "ratio") if k in given}
    return {"model": model, "prompt": prompt, **keep}


def _fields(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The task fields: top level, or DashScope's ``output`` block (§2.4 shape B)."""
    output = data.get("output")
    if isinstance(output, Mapping) and ("task_status" in output or "video_url" in output):
        return output
    return data


def read_video(data: Mapping[str, Any], headers: httpx.Headers) -> PollState:
    """A video poll answer of either dialect, normalised."""
    task = _fields(data)
    remote = str(task.get("status") or task.get("task_status") or "")
    error = mapping(task.get("error"))
    return PollState(
        status=STATUSES.get(remote.lower(), "unknown"),
        remote=remote or None,
        hint=parse_retry_after(headers.get("retry-after")),
        error_code=error.get("code") or task.get("code"),
        error_message=error.get("message") or task.get("message"),
    )


def video_link(data: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    """The video URL and when it stops working (from the expiry time, else the TTL)."""
    task = _fields(data)
    url = task.get("video_url")
    expires = parse_time(task.get("video_url_expires_at"))
    ttl = task.get("video_url_ttl")
    if expires is None and isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        expires = datetime.now(timezone.utc) + timedelta(seconds=ttl)
    return (str(url) if url else None), expires


def video_seconds(data: Mapping[str, Any], params: Mapping[str, Any]) -> float | None:
    """Seconds of video made: as reported, else as asked (what the ledger prices)."""
    task = _fields(data)
    usage = mapping(data.get("usage"))
    for value in (task.get("duration"), usage.get("video_duration"), params.get("duration")):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def video_task(data: Mapping[str, Any]) -> VideoTask:
    """A task object of either dialect as a ``VideoTask``."""
    state = read_video(data, httpx.Headers())
    url, expires = video_link(data)
    task = _fields(data)
    duration = task.get("duration")
    return VideoTask(
        id=_id(data) or "",
        status=state.status,
        model=task.get("model") or data.get("model"),
        video_url=url,
        video_url_expires_at=expires,
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        error_code=state.error_code,
        error_message=state.error_message,
        raw=dict(data),
    )

"""Validate an AllToken video create body (docs/wire-format.md §1.9).

Model-dependent limits (duration range or enum, `-1` "model picks", resolutions, ratios)
come from the same `video_capabilities` that `/v1/videos/models` lists, so the list and
what is accepted never drift. For seedance those are the §1.9 rules; for happyhorse the
whole capability block is invented. Content items: public http(s) URLs, `asset://` ids
(seedance-2.0/2.0-fast only), or `upload_id` short forms bound via `uploads.py`; `data:`
URLs are 400 (§3 row 12). The simulator never fetches any URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from alltoken_agent.simulator.catalog import CatalogModel, resolve_model
from alltoken_agent.simulator.listing import video_capabilities
from alltoken_agent.simulator.media_store import MediaState, Upload
from alltoken_agent.simulator.media_wire import (
    MediaRequestError,
    check_choice,
    check_optional,
    is_int,
    is_public_http_url,
    require,
)
from alltoken_agent.simulator.uploads import check_upload

DEFAULT_DURATION: Final = 5
"""§1.9: 0 or absent -> upstream default 5; `-1` also renders 5 s here (invented)."""
FPS: Final = 24
"""invented: every simulated video reports 24 fps."""

ITEM_TYPES: Final = (
    "text", "image_url", "video_url", "audio_url", "draft_task", "image", "video", "audio",
)  # fmt: skip
ROLES: Final = (
    "first_frame",
    "last_frame",
    "reference_image",
    "reference_video",
    "reference_audio",
)
# invented: which roles fit which medium (§1.9 lists roles, not the pairing).
_ROLES_OF: Final[dict[str, tuple[str, ...]]] = {
    "image": ("first_frame", "last_frame", "reference_image"),
    "video": ("reference_video",),
    "audio": ("reference_audio",),
}
_PURPOSE_OF: Final[dict[str, str]] = {
    "image": "video_input_image",
    "video": "video_input_video",
    "audio": "video_input_audio",
}
_ASSET_MODELS: Final = frozenset({"seedance-2.0", "seedance-2.0-fast"})
_FRAMES_MODELS: Final = frozenset({"seedance-1.0-pro", "seedance-1.0-pro-fast"})
_SHORT_SIDE: Final[dict[str, int]] = {"480p": 480, "720p": 720, "1080p": 1080}
INT64: Final = 2**63


@dataclass
class VideoRequest:
    """A validated video create request."""

    model: CatalogModel
    """Catalog entry of the model."""
    params: dict[str, Any]
    """Fields echoed in the task object (§1.9), plus `output_format`/`return_last_frame`."""
    uploads: list[Upload] = field(default_factory=list)
    """Uploads to bind to the new task."""


def dimensions(resolution: str, ratio: str) -> tuple[int, int]:
    """Pixel size of a resolution and ratio (invented: short side = the `p` number).

    `adaptive` renders 16:9; the long side is rounded to a multiple of 16.
    """
    short = _SHORT_SIDE[resolution]
    a, b = (16, 9) if ratio == "adaptive" else (int(x) for x in ratio.split(":"))
    long = round(short * max(a, b) / min(a, b) / 16) * 16
    return (long, short) if a >= b else (short, long)


def _check_url(url: Any, model: str, param: str) -> None:
    if isinstance(url, str) and url.startswith("data:"):
        raise MediaRequestError(
            "data: URLs are not accepted for video inputs since 2026-08-06; presign with "
            "POST /v1/uploads/presign and send upload_id, or a public https URL",
            param=param,
        )
    if isinstance(url, str) and url.startswith("asset://"):
        require(
            model in _ASSET_MODELS,
            param,
            f"asset:// portrait references work with seedance-2.0(-fast) only, not {model}",
        )
        return
    require(is_public_http_url(url), param, f"{param} must be a public http(s) URL")


def _content(
    items: Any, model: str, media: MediaState, owner: str
) -> tuple[str, list[Upload], str | None]:
    """Check the content items; return (input_type, uploads to bind, draft task id)."""
    require(items is None or isinstance(items, list), "content", "content must be an array")
    uploads: list[Upload] = []
    media_roles: list[tuple[str, str | None]] = []
    draft: str | None = None
    for i, item in enumerate(items or []):
        where = f"content[{i}]"
        require(isinstance(item, Mapping), where, f"{where} must be an object")
        kind = item.get("type")
        require(kind in ITEM_TYPES, f"{where}.type", f"{where}.type must be one of {ITEM_TYPES}")
        role = item.get("role")
        require(role is None or role in ROLES, f"{where}.role", f"{where}.role must be in {ROLES}")
        if kind == "text":
            require(isinstance(item.get("text"), str), f"{where}.text", "text items need text")
            continue
        if kind == "draft_task":
            block = item.get("draft_task")
            ok = isinstance(block, Mapping) and isinstance(block.get("id"), str)
            require(ok, f"{where}.draft_task", "draft_task items need draft_task.id")
            assert isinstance(block, Mapping)
            draft = str(block["id"])
            continue
        medium = kind.removesuffix("_url")
        require(
            role is None or role in _ROLES_OF[medium],
            f"{where}.role",
            f"role {role} does not fit a {medium} item (use one of {_ROLES_OF[medium]})",
        )
        if kind.endswith("_url"):
            block = item.get(kind)
            url = block.get("url") if isinstance(block, Mapping) else None
            _check_url(url, model, f"{where}.{kind}.url")
        else:
            has_url, has_upload = item.get("url") is not None, item.get("upload_id") is not None
            require(
                has_url != has_upload,
                where,
                f"{where} needs exactly one of url or upload_id",
            )
            if has_url:
                _check_url(item["url"], model, f"{where}.url")
            else:
                param = f"{where}.upload_id"
                uploads.append(
                    check_upload(media, item["upload_id"], owner, _PURPOSE_OF[medium], param)
                )
        media_roles.append((medium, role))
    ids = [u.upload_id for u in uploads]
    require(len(ids) == len(set(ids)), "content", "the same upload_id appears twice")
    return _input_type(media_roles, draft), uploads, draft


def _input_type(media_roles: list[tuple[str, str | None]], draft: str | None) -> str:
    """§1.9 `input_type` from the items (invented derivation)."""
    if draft is not None:
        return "draft_task"
    kinds = {medium for medium, _ in media_roles}
    if not kinds:
        return "text"
    if kinds == {"image"}:
        roles = {role or "first_frame" for _, role in media_roles}
        if roles == {"first_frame"} and len(media_roles) == 1:
            return "image_first_frame"
        if roles == {"first_frame", "last_frame"}:
            return "image_first_last_frame"
        return "image_reference"
    if kinds == {"video"}:
        return "video_reference"
    return "multimodal"


def _duration(body: Mapping[str, Any], caps: Mapping[str, Any], model: str) -> int:
    value = body.get("duration")
    if value is None or value == 0:
        return DEFAULT_DURATION
    require(is_int(value), "duration", "duration must be an integer number of seconds")
    rule = caps["duration"]
    if value == -1:
        require(rule["supports_auto"], "duration", f"duration -1 (model picks) is not for {model}")
        return -1
    if rule["type"] == "range":
        ok = rule["min"] <= value <= rule["max"]
        allowed = f"{rule['min']}-{rule['max']}"
    else:
        ok = value in rule["values"]
        allowed = ", ".join(str(v) for v in rule["values"])
    require(ok, "duration", f"duration {value} is out of range for {model} ({allowed})")
    return int(value)


def _options(body: Mapping[str, Any]) -> None:
    for name in ("generate_audio", "input_has_video", "camera_fixed", "return_last_frame"):
        check_optional(body, name, bool, "true or false")
    for name in ("draft", "watermark"):
        check_optional(body, name, bool, "true or false")
    seed = body.get("seed")
    require(seed is None or (is_int(seed) and -INT64 <= seed < INT64), "seed", "seed must be int64")
    callback = body.get("callback_url")
    require(
        callback is None or is_public_http_url(callback),
        "callback_url",
        "callback_url must be an http(s) URL",
    )
    check_choice(body, "service_tier", ("default", "flex"))
    expires = body.get("execution_expires_after")
    require(
        expires is None or (is_int(expires) and 3600 <= expires <= 259_200),
        "execution_expires_after",
        "execution_expires_after must be an integer from 3600 to 259200",
    )
    tools = body.get("tools")
    require(
        tools is None
        or (
            isinstance(tools, list)
            and all(isinstance(t, Mapping) and t.get("type") == "web_search" for t in tools)
        ),
        "tools",
        'tools must be an array of {"type": "web_search"}',
    )
    safety = body.get("safety_identifier")
    require(
        safety is None or (isinstance(safety, str) and len(safety) <= 64),
        "safety_identifier",
        "safety_identifier must be a string of at most 64 characters",
    )


def validate_video_request(body: Any, media: MediaState, owner: str) -> VideoRequest:
    """Validate a create body; uploads are checked (not bound) for key `owner`.

    Raises:
        MediaRequestError: 400 `invalid_request`, or 404 `upstream_model_not_found`.
    """
    require(isinstance(body, Mapping), None, "the request body must be a JSON object")
    requested = body.get("model")
    require(isinstance(requested, str) and bool(requested), "model", "model is required")
    model = resolve_model(requested, "alltoken")
    if model is None:
        raise MediaRequestError(
            f"model {requested!r} is not available; list video models with GET /v1/videos/models",
            param="model",
            status=404,
            code="upstream_model_not_found",
        )
    require(model.modality == "video", "model", f"{requested} is not a video model")
    prompt = body.get("prompt")
    require(isinstance(prompt, str) and bool(prompt.strip()), "prompt", "prompt is required")
    caps = video_capabilities(model)
    duration = _duration(body, caps, model.id)
    frames = body.get("frames")
    if model.id in _FRAMES_MODELS and frames is not None:
        require(
            is_int(frames) and 29 <= frames <= 289 and (frames - 25) % 4 == 0,
            "frames",
            "frames must be 25+4k between 29 and 289",
        )
    else:
        frames = None  # §1.9: silently dropped on other models
    resolution = body.get("resolution") or caps["resolutions"]["default"]
    values = caps["resolutions"]["values"]
    require(resolution in values, "resolution", f"{model.id} supports resolution {values}")
    ratio = body.get("ratio") or caps["ratios"]["default"]
    values = caps["ratios"]["values"]
    require(ratio in values, "ratio", f"{model.id} supports ratio {values}")
    _options(body)
    check_choice(body, "output_format", ("mp4", "mov"))
    output_format = body.get("output_format") or "mp4"
    require(
        output_format == "mp4" or model.id == "seedance-2.5",
        "output_format",
        "output_format mov is for seedance-2.5 only",
    )
    check_choice(body, "omni_reference_task_type", ("", "auto", "edit", "extend"))
    omni = body.get("omni_reference_task_type") or ""
    # invented: a non-empty value on another model is a 400 (§1.9: "2.5 only").
    require(not omni or model.id == "seedance-2.5", "omni_reference_task_type", "2.5 only")
    if omni in ("edit", "extend"):
        require(
            ratio == "adaptive", "ratio", f"omni_reference_task_type {omni} needs ratio adaptive"
        )
    if omni == "edit":
        require(duration == -1, "duration", "omni_reference_task_type edit needs duration -1")
    input_type, uploads, draft = _content(body.get("content"), model.id, media, owner)
    seconds = DEFAULT_DURATION if duration == -1 else duration
    if frames is not None:
        seconds = max(1, round(frames / FPS))
    params: dict[str, Any] = {
        "input_type": input_type,
        "duration": seconds,
        "frames": frames,
        "fps": FPS,
        "resolution": resolution,
        "ratio": ratio,
        "seed": body.get("seed"),
        "generate_audio": body.get("generate_audio"),
        "input_has_video": body.get("input_has_video"),
        "draft": body.get("draft"),
        "draft_task_id": draft,
        "service_tier": body.get("service_tier"),
        "execution_expires_after": body.get("execution_expires_after"),
        "safety_identifier": body.get("safety_identifier"),
        "tools": body.get("tools"),
        "return_last_frame": body.get("return_last_frame") is True,
        "output_format": output_format,
    }
    return VideoRequest(model=model, params=params, uploads=uploads)

"""Render catalog entries as the gateway lists them (§1.6 ModelInfo and public entries)."""

from __future__ import annotations

from typing import Any

from alltoken_agent.simulator._constants import Dialect
from alltoken_agent.simulator.catalog import CREATED, CatalogModel, models_for, resolve_model

_RATIOS = ["16:9", "9:16", "4:3", "3:4", "21:9", "1:1", "adaptive"]
# Seedance duration ranges from docs/wire-format.md §1.9: id -> (min, max, supports -1 "auto").
_SEEDANCE_DURATIONS: dict[str, tuple[int, int, bool]] = {
    "seedance-1.0-pro": (2, 12, False),
    "seedance-1.0-pro-fast": (2, 12, False),
    "seedance-1.5-pro": (4, 12, True),
    "seedance-2.0": (4, 15, True),
    "seedance-2.0-fast": (4, 15, True),
    "seedance-2.5": (4, 30, True),
}


def model_info(model: CatalogModel) -> dict[str, Any]:
    """Return the §1.6 ModelInfo of one model, as `/v1/models` lists it on AllToken.

    `owned_by` is `"chat"` for chat models (observed, §1.6); for media models the
    simulator uses the provider id (the docs example shows `"openai"` for an image model).
    """
    info: dict[str, Any] = {
        "id": model.id,
        "object": {"image": "image", "video": "video"}.get(model.modality, "model"),
        "created": CREATED,
        "owned_by": "chat" if model.is_chat else model.provider,
        "modality": model.modality,
        "display_name": model.display_name,
        "brand": model.brand,
        "family": model.family,
        "description": f"{model.display_name} (simulated catalog entry).",
        "input_modalities": list(model.inputs),
        "output_modalities": list(model.outputs),
    }
    if model.modality == "video":
        info["capabilities"] = video_capabilities(model)
    return info


def tokenhub_model_info(model: CatalogModel) -> dict[str, Any]:
    """Return a plain OpenAI-style list entry (invented: TokenHub documents no list shape)."""
    return {"id": model.id, "object": "model", "created": CREATED, "owned_by": model.provider}


def model_list(dialect: Dialect, modality: str | None = None) -> dict[str, Any]:
    """Return the `{object: "list", data: [...]}` body of a `/v1/.../models` endpoint.

    Args:
        dialect: Wire dialect.
        modality: Only models of this modality (`image`, `video`), or all when None.
            Per §3 row 9 the full list includes video models with `modality: "video"`.
            Media models are those the dialect's media endpoints accept.

    Returns:
        The list body.
    """
    render = model_info if dialect == "alltoken" else tokenhub_model_info
    chosen = [m for m in models_for(dialect) if modality is None or m.modality == modality]
    return {"object": "list", "data": [render(m) for m in chosen]}


def model_entry(dialect: Dialect, model_id: str) -> dict[str, Any] | None:
    """Return one model as `GET /v1/models/{id}` answers it (a list entry), or None.

    The official SDK's `models.retrieve` calls this path; the body is the same entry
    `/v1/models` lists. TokenHub also finds provider-prefixed ids (`resolve_model`).
    """
    model = resolve_model(model_id, dialect)
    if model is None:
        return None
    return model_info(model) if dialect == "alltoken" else tokenhub_model_info(model)


_FEATURES = (
    "generate_audio", "return_last_frame", "camera_fixed", "watermark", "seed", "draft",
    "service_tier_flex", "tools_web_search",
)  # fmt: skip


def video_capabilities(model: CatalogModel) -> dict[str, Any]:
    """Return the `/videos/models` `capabilities` block (§1.6) of a video model.

    Seedance durations (default 5), resolutions and the `frames` rule follow §1.6/§1.9;
    the rest (feature flags not pinned by §1.9, content counts and roles, prompt length,
    every happyhorse value) is invented.
    """
    if model.id in _SEEDANCE_DURATIONS:
        low, high, auto = _SEEDANCE_DURATIONS[model.id]
        duration: dict[str, Any] = {
            "type": "range", "min": low, "max": high, "step": 1, "default": 5,
            "supports_auto": auto,
        }  # fmt: skip
        resolutions = ["480p", "720p"] if model.id == "seedance-2.5" else ["480p", "720p", "1080p"]
        v1 = model.id.startswith("seedance-1.0")
        features = {
            "generate_audio": not v1,
            "return_last_frame": True,
            "camera_fixed": model.id in ("seedance-1.0-pro", "seedance-1.5-pro"),
            "watermark": True,
            "seed": True,
            "draft": model.id == "seedance-1.5-pro",  # invented
            "service_tier_flex": True,  # invented
            "tools_web_search": model.id == "seedance-2.5",  # invented
        }
        ratios, default_ratio = _RATIOS, "16:9"
        image_count, video_count = 2 if v1 else 4, 0 if v1 else 3
        roles = ["first_frame", "last_frame", "reference_image"]
        if not v1:
            roles += ["reference_video", "reference_audio"]
    else:  # happyhorse: invented
        duration = {"type": "enum", "values": [5, 10], "default": 5, "supports_auto": False}
        resolutions = ["720p", "1080p"]
        features = {name: name in ("watermark", "seed") for name in _FEATURES}
        ratios, default_ratio = ["16:9", "9:16", "1:1"], "16:9"
        image_count = 0 if model.id.endswith(("t2v", "video-edit")) else 1
        video_count = 1 if model.id.endswith("video-edit") else 0
        roles = ["first_frame"] if image_count else []
    return {
        "ratios": {"values": ratios, "default": default_ratio},
        "resolutions": {"values": resolutions, "default": "720p"},
        "duration": duration,
        # §1.6: `frames` is non-null only for seedance-1.0-pro.
        "frames": {"min": 29, "max": 289, "step": 4} if model.id == "seedance-1.0-pro" else None,
        "features": features,
        "prompt": {"max_length": 2000},
        # The spec's ImageCount/VideoCount are {min, max} objects, not counts (SPEC 0.2.36).
        "content": {
            "image_count": {"min": 0, "max": image_count},
            "video_count": {"min": 0, "max": video_count},
            "allowed_roles": roles,
        },
        "input_types": _input_types(image_count, video_count),
    }


def _input_types(image_count: int, video_count: int) -> list[str]:
    types = ["text"]
    if image_count:
        types += ["image_first_frame", "image_reference"]
    if image_count > 1:
        types.append("image_first_last_frame")
    if video_count:
        types.append("video_reference")
    return types


def _price(value: object) -> str | None:
    return None if value is None else format(value, "f")


def public_entry(model: CatalogModel) -> dict[str, Any]:
    """Return a rich `/api-account/models` entry (invented shape: §1.6 only names fields)."""
    if model.is_chat:
        pricing: dict[str, Any] = {
            "input_price": _price(model.input_price),
            "output_price": _price(model.output_price),
            "unit": "1K tokens",
        }
    elif model.modality == "image":
        pricing = {"per_image": _price(model.per_image), "unit": "image"}
    else:
        pricing = {"per_second": _price(model.per_second), "unit": "second"}
    pricing["currency"] = "USD"
    return {
        "id": model.id,
        "name": model.display_name,
        "family": model.family,
        "brand": model.brand,
        "provider": model.provider,
        "modality": model.modality,
        "input_modalities": list(model.inputs),
        "output_modalities": list(model.outputs),
        "context_length": model.context_length,
        "max_output_tokens": model.max_output_tokens,
        "pricing": pricing,
        "capabilities": {
            "tools": model.is_chat,
            "vision": "image" in model.inputs and model.is_chat,
            "reasoning": model.reasoning,
            "web_search": model.is_chat and model.search == "search",
            "structured_output": model.is_chat,
        },
        "tags": list(model.tags),
        "description": f"{model.display_name} (simulated catalog entry).",
    }

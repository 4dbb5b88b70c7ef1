"""Parsing of model lists and AllToken's public catalog bodies (docs/wire-format.md §1.6).

Only the health summary is documented (§1.6, §3 row 19); every other public shape is
parsed defensively: a ``{"data": ...}`` wrapper is optional everywhere, missing fields
become None, unknown fields are ignored (and kept in ``raw``), an entry without an id is
dropped. ``raw`` is what the gateway sent, so a cache can store it and parse it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from alltoken_agent.gateway.catalog_fields import context_length, entry_id
from alltoken_agent.gateway.catalog_fields import first as _first
from alltoken_agent.gateway.catalog_fields import integer as _int
from alltoken_agent.gateway.catalog_fields import real as _float
from alltoken_agent.gateway.catalog_fields import text as _str
from alltoken_agent.gateway.catalog_types import (
    CAPABILITIES,
    CatalogEntry,
    HealthSummary,
    ModelInfo,
    ProviderInfo,
    RankingEntry,
    Rankings,
    RouteHealth,
    RouteStatus,
)
from alltoken_agent.gateway.types import ModelPrice

_ALIASES = {
    "function_calling": "tools",
    "tool_calls": "tools",
    "tool_use": "tools",
    "search": "web_search",
    "enable_search": "web_search",
    "json_schema": "structured_output",
    "structured_outputs": "structured_output",
    "response_format": "structured_output",
    "thinking": "reasoning",
}
_STATUSES: dict[str, RouteStatus] = {
    "healthy": "healthy",
    "ok": "healthy",
    "operational": "healthy",
    "degraded": "degraded",
    "incident": "incident",
    "down": "incident",
    "outage": "incident",
}


def unwrap(payload: Any) -> Any:
    """Strip an optional ``{"data": ...}`` wrapper (§3 row 19)."""
    if isinstance(payload, Mapping) and "data" in payload:
        return payload["data"]
    return payload


def parse_models(payload: Any, *, default_modality: str | None = None) -> list[ModelInfo]:
    """Parse a ``/models`` body (or a bare list of entries)."""
    out = []
    for item in _items(payload):
        model_id = _str(item.get("id"))
        if model_id is None:
            continue
        obj = _str(item.get("object")) or "model"
        inputs, outputs = _strs(item.get("input_modalities")), _strs(item.get("output_modalities"))
        capabilities = item.get("capabilities")
        out.append(
            ModelInfo(
                id=model_id,
                object=obj,
                modality=_str(item.get("modality"))
                or _infer_modality(obj, inputs, outputs)
                or default_modality,
                owned_by=_str(item.get("owned_by")),
                display_name=_str(item.get("display_name")) or _str(item.get("name")),
                brand=_str(item.get("brand")),
                family=_str(item.get("family")),
                input_modalities=inputs,
                output_modalities=outputs,
                capabilities=capabilities if isinstance(capabilities, Mapping) else None,
                raw=_with_modality(item, default_modality),
            )
        )
    return out


def merge_models(models: list[ModelInfo], extra: list[ModelInfo]) -> list[ModelInfo]:
    """``models`` plus the entries of ``extra`` whose ids it lacks, in order."""
    known = {m.id for m in models}
    return models + [m for m in extra if m.id not in known]


def parse_catalog(payload: Any) -> list[CatalogEntry]:
    """Parse a public ``/models`` body."""
    entries = (parse_entry(item) for item in _items(payload, "models"))
    return [entry for entry in entries if entry is not None]


def parse_entry(item: Any) -> CatalogEntry | None:
    """Parse one public catalog entry; None when it has no id."""
    if not isinstance(item, Mapping):
        return None
    model_id = entry_id(item)
    if model_id is None:
        return None
    inputs, outputs = _strs(item.get("input_modalities")), _strs(item.get("output_modalities"))
    modality = _str(item.get("modality")) or _infer_modality("model", inputs, outputs)
    capabilities = _capabilities(item.get("capabilities"))
    if modality == "vision" or ("image" in inputs and modality == "text"):
        capabilities |= {"vision"}
    return CatalogEntry(
        id=model_id,
        name=_str(item.get("name")) or _str(item.get("display_name")),
        family=_str(item.get("family")),
        modality=modality,
        context_length=context_length(item),
        max_output_tokens=_int(_first(item, "max_output_tokens", "max_completion_tokens")),
        price=_price(model_id, item.get("pricing") or item.get("price")),
        capabilities=frozenset(capabilities),
        tags=_strs(item.get("tags")),
        brand=_str(item.get("brand")),
        provider=_str(item.get("provider")),
        input_modalities=inputs,
        output_modalities=outputs,
        description=_str(item.get("description")),
        raw=dict(item),
    )


def parse_rankings(payload: Any) -> Rankings:
    """Parse ``/rankings/all``: lists named usage, speed and benchmark."""
    data = unwrap(payload)
    if not isinstance(data, Mapping):
        return Rankings()
    leaders = data.get("category_leaders")
    return Rankings(
        usage=_board(data.get("usage")),
        speed=_board(data.get("speed")),
        benchmark=_board(data.get("benchmark") or data.get("benchmarks")),
        category_leaders={
            str(k): str(v) for k, v in (leaders.items() if isinstance(leaders, Mapping) else ())
        },
        raw=dict(data),
    )


def parse_health(payload: Any) -> HealthSummary:
    """Parse ``/health/summary``, with or without its ``data`` wrapper."""
    data = unwrap(payload)
    if not isinstance(data, Mapping):
        return HealthSummary()
    return HealthSummary(
        total_routes=_int(data.get("total_routes")),
        healthy_routes=_int(data.get("healthy_routes")),
        degraded_routes=_int(data.get("degraded_routes")),
        incident_routes=_int(data.get("incident_routes")),
        median_latency_ms=_int(data.get("median_latency_ms")),
        overall_availability=_float(data.get("overall_availability")),
        raw=dict(data),
    )


def parse_routes(payload: Any) -> list[RouteHealth]:
    """Parse ``/health/routes``: a list, or an object holding ``routes``."""
    out = []
    for item in _items(payload, "routes"):
        model = _str(item.get("model")) or _str(item.get("model_id"))
        if model is None:
            continue
        status = (_str(item.get("status")) or "").lower()
        out.append(
            RouteHealth(
                model=model,
                provider=_str(item.get("provider")),
                status=_STATUSES.get(status, "unknown"),
                availability=_float(item.get("availability")),
                latency_p50_ms=_float(_first(item, "latency_p50_ms", "p50_latency_ms", "p50_ms")),
                latency_p95_ms=_float(_first(item, "latency_p95_ms", "p95_latency_ms", "p95_ms")),
                throughput_tps=_float(_first(item, "throughput_tps", "tokens_per_second")),
                raw=dict(item),
            )
        )
    return out


def parse_providers(payload: Any) -> list[ProviderInfo]:
    """Parse ``/providers``."""
    out = []
    for item in _items(payload, "providers"):
        provider_id = _str(item.get("id")) or _str(item.get("name"))
        if provider_id is not None:
            out.append(
                ProviderInfo(
                    id=provider_id,
                    name=_str(item.get("name")),
                    status=_str(item.get("status")),
                    models=_strs(item.get("models")),
                    raw=dict(item),
                )
            )
    return out


def _board(value: Any) -> tuple[RankingEntry, ...]:
    rows = []
    for position, item in enumerate(_items(value), 1):
        model = _str(item.get("model")) or _str(item.get("model_id")) or _str(item.get("id"))
        if model is None:
            continue
        rows.append(
            RankingEntry(
                model=model,
                rank=_int(item.get("rank")) or position,
                score=_float(item.get("score")),
                tokens=_int(item.get("tokens")),
                tokens_per_second=_float(
                    _first(item, "tokens_per_second", "throughput_tps", "tps")
                ),
                ttft_ms=_float(_first(item, "ttft_ms", "time_to_first_token_ms")),
            )
        )
    return tuple(rows)


def _price(model_id: str, pricing: Any) -> ModelPrice | None:
    if not isinstance(pricing, Mapping):
        return None
    unit = (_str(pricing.get("unit")) or "").lower().replace(" ", "")
    # Token prices are kept per 1K (AllToken's unit, §1.5); assume per 1K when unsaid.
    if "1m" in unit or "million" in unit:
        scale = Decimal("0.001")
    elif unit in ("token", "pertoken", "1token"):
        scale = Decimal(1000)
    else:
        scale = Decimal(1)
    inp = _decimal(_first(pricing, "input_price", "input", "prompt", "prompt_price"))
    out = _decimal(_first(pricing, "output_price", "output", "completion", "completion_price"))
    image = _decimal(_first(pricing, "per_image", "image", "image_price"))
    second = _decimal(_first(pricing, "per_second", "per_video_second", "video_second"))
    if inp is None and out is None and image is None and second is None:
        return None
    return ModelPrice(
        model=model_id,
        input_per_1k=None if inp is None else inp * scale,
        output_per_1k=None if out is None else out * scale,
        per_image=image,
        per_video_second=second,
    )


def _capabilities(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        names = [str(k) for k, v in value.items() if v is True]
    elif isinstance(value, (list, tuple)):
        names = [str(v) for v in value]
    else:
        return set()
    found = {_ALIASES.get(name.lower(), name.lower()) for name in names}
    return found & set(CAPABILITIES)


def _infer_modality(obj: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> str | None:
    if obj in ("image", "video", "audio"):
        return obj
    for kind in ("video", "image", "audio"):
        if kind in outputs:
            return kind
    if outputs == ("text",) or (not outputs and inputs):
        return "vision" if "image" in inputs else "text"
    return None


def _with_modality(item: Mapping[str, Any], modality: str | None) -> dict[str, Any]:
    raw = dict(item)
    if modality and not raw.get("modality"):
        raw["modality"] = modality  # so a cached copy parses to the same value
    return raw


def _items(payload: Any, *keys: str) -> list[Mapping[str, Any]]:
    data = unwrap(payload)
    if isinstance(data, Mapping):
        data = next((data[k] for k in keys if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, Mapping)]


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(str(v) for v in value if isinstance(v, (str, int)))


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None

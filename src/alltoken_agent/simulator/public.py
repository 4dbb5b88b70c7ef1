"""Public AllToken catalog routes under `/api-account` (no auth, docs/wire-format.md §1.6).

Only the health summary fields and its `{"data": ...}` wrapper are documented (§1.6,
§3 row 19). Every other shape here is invented, as noted per route. All numbers are
derived from hashes of model ids, so they are stable across runs.
"""

from __future__ import annotations

import hashlib
import statistics
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alltoken_agent.simulator.catalog import CatalogModel, models_for, resolve_model
from alltoken_agent.simulator.envelope import error_response
from alltoken_agent.simulator.listing import public_entry

MODELS: Final = models_for("alltoken")
"""The AllToken catalog (TokenHub-only media models are not listed here)."""

DEGRADED_ROUTES: Final = frozenset({"gemini-3.1-pro-preview", "kimi-k2.6"})
"""Chat models whose route is reported `degraded`, so clients can test skipping them."""

TIME_RANGES: Final = ("1h", "24h", "7d", "30d")
"""Accepted `time_range` values of `/health/routes` (invented list)."""

_CHAT: Final = tuple(m for m in MODELS if m.is_chat)


def _num(key: str, low: int, high: int) -> int:
    """Return a deterministic integer in [low, high] for `key`."""
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return low + digest % (high - low + 1)


def _route(model: CatalogModel) -> dict[str, Any]:
    degraded = model.id in DEGRADED_ROUTES
    p50 = _num(f"p50:{model.id}", 280, 1400)
    incidents = []
    if degraded:
        incidents.append(
            {
                "started_at": "2026-05-11T14:00:00Z",
                "resolved_at": None,
                "severity": "degraded",
                "summary": "Elevated upstream error rate (simulated).",
            }
        )
    return {
        "route_id": f"{model.id}@{model.provider}",
        "model": model.id,
        "provider": model.provider,
        "status": "degraded" if degraded else "healthy",
        "availability": (
            _num(f"a:{model.id}", 9600, 9850) if degraded else _num(f"a:{model.id}", 9950, 9999)
        )
        / 100,
        "latency_p50_ms": p50,
        "latency_p95_ms": p50 * 2 + _num(f"p95:{model.id}", 100, 900),
        "throughput_tps": _num(f"tps:{model.id}", 35, 220),
        "incidents": incidents,
    }


ROUTES: Final = tuple(_route(m) for m in _CHAT)
"""Health of every simulated route (one per chat model)."""


def _summary() -> dict[str, Any]:
    statuses = [r["status"] for r in ROUTES]
    return {
        "total_routes": len(ROUTES),
        "healthy_routes": statuses.count("healthy"),
        "degraded_routes": statuses.count("degraded"),
        "incident_routes": statuses.count("incident"),
        "median_latency_ms": int(statistics.median(r["latency_p50_ms"] for r in ROUTES)),
        "overall_availability": round(statistics.fmean(r["availability"] for r in ROUTES), 2),
    }


def _rankings() -> dict[str, Any]:
    # invented shape: §1.6 says only "usage/benchmark/speed leaderboards, category leaders".
    usage = sorted(_CHAT, key=lambda m: -_num(f"use:{m.id}", 10**6, 10**9))
    speed = sorted(ROUTES, key=lambda r: -int(r["throughput_tps"]))
    bench = sorted(_CHAT, key=lambda m: -_num(f"bench:{m.id}", 500, 950))
    cheapest = min(_CHAT, key=lambda m: m.output_price or 0)
    return {
        "usage": [
            {"rank": i, "model": m.id, "tokens": _num(f"use:{m.id}", 10**6, 10**9)}
            for i, m in enumerate(usage, 1)
        ],
        "speed": [
            {
                "model": r["model"],
                "tokens_per_second": r["throughput_tps"],
                "ttft_ms": r["latency_p50_ms"] // 2,
            }
            for r in speed
        ],
        "benchmark": [
            {"rank": i, "model": m.id, "score": _num(f"bench:{m.id}", 500, 950) / 10}
            for i, m in enumerate(bench, 1)
        ],
        "category_leaders": {
            "coding": "gpt-5.3-codex",
            "reasoning": bench[0].id,
            "speed": speed[0]["model"],
            "value": cheapest.id,
            "web_search": "deepseek-v4-pro",
        },
    }


def _providers() -> list[dict[str, Any]]:
    # invented shape.
    out: dict[str, dict[str, Any]] = {}
    for model in MODELS:
        entry = out.setdefault(
            model.provider,
            {"id": model.provider, "name": model.brand, "models": [], "status": "healthy"},
        )
        entry["models"].append(model.id)
        if model.id in DEGRADED_ROUTES:
            entry["status"] = "degraded"
    return list(out.values())


def _not_found(what: str) -> JSONResponse:
    return error_response(404, "not_found", f"{what} not found (simulated).", request_id=None)


async def list_models(request: Request) -> JSONResponse:
    """`GET /api-account/models` (optional `modality` / `brand` query filters)."""
    modality = request.query_params.get("modality")
    brand = request.query_params.get("brand")
    chosen = [
        m
        for m in MODELS
        if (modality is None or m.modality == modality) and (brand is None or m.brand == brand)
    ]
    return JSONResponse({"data": [public_entry(m) for m in chosen]})


async def model_detail(request: Request) -> JSONResponse:
    """`GET /api-account/models/{model_path}`: one model, or a 404 envelope."""
    model = resolve_model(request.path_params["model_path"], "alltoken")
    if model is None:
        return _not_found(f"Model {request.path_params['model_path']!r}")
    return JSONResponse({"data": public_entry(model)})


async def model_filters(request: Request) -> JSONResponse:
    """`GET /api-account/models/filters` (invented shape: facet name -> values)."""
    facets = {
        "brands": sorted({m.brand for m in MODELS}),
        "families": sorted({m.family for m in MODELS}),
        "modalities": sorted({m.modality for m in MODELS}),
        "providers": sorted({m.provider for m in MODELS}),
        "tags": sorted({t for m in MODELS for t in m.tags}),
        "capabilities": ["tools", "vision", "reasoning", "web_search", "structured_output"],
    }
    return JSONResponse({"data": facets})


async def rankings(request: Request) -> JSONResponse:
    """`GET /api-account/rankings/all`."""
    return JSONResponse({"data": _rankings()})


async def health_summary(request: Request) -> JSONResponse:
    """`GET /api-account/health/summary` (documented fields, `data` wrapper per §3 row 19)."""
    return JSONResponse({"data": _summary()})


async def health_routes(request: Request) -> JSONResponse:
    """`GET /api-account/health/routes?time_range=24h` (invented shape)."""
    time_range = request.query_params.get("time_range", "24h")
    if time_range not in TIME_RANGES:
        return error_response(
            400,
            "invalid_request",
            f"time_range must be one of {', '.join(TIME_RANGES)} (simulated).",
            request_id=None,
            param="time_range",
        )
    return JSONResponse({"data": {"time_range": time_range, "routes": list(ROUTES)}})


async def providers(request: Request) -> JSONResponse:
    """`GET /api-account/providers`."""
    return JSONResponse({"data": _providers()})


async def provider_stats(request: Request) -> JSONResponse:
    """`GET /api-account/providers/{id}/stats` (invented shape)."""
    provider_id = request.path_params["provider_id"]
    mine = [r for r in ROUTES if r["provider"] == provider_id]
    if not any(p["id"] == provider_id for p in _providers()):
        return _not_found(f"Provider {provider_id!r}")
    stats: dict[str, Any] = {
        "provider": provider_id,
        "time_range": "24h",
        "requests_24h": _num(f"req:{provider_id}", 10_000, 5_000_000),
        "error_rate": _num(f"err:{provider_id}", 1, 90) / 10_000,
    }
    if mine:  # media-only providers have no chat routes to aggregate
        stats["availability"] = round(statistics.fmean(r["availability"] for r in mine), 2)
        stats["latency_p50_ms"] = int(statistics.median(r["latency_p50_ms"] for r in mine))
        stats["latency_p95_ms"] = int(statistics.median(r["latency_p95_ms"] for r in mine))
        stats["throughput_tps"] = int(statistics.median(r["throughput_tps"] for r in mine))
    return JSONResponse({"data": stats})


def public_routes() -> list[Route]:
    """Return the `/api-account/*` routes (AllToken dialect only)."""
    base = "/api-account"
    return [
        Route(f"{base}/models", list_models),
        Route(f"{base}/models/filters", model_filters),
        Route(f"{base}/models/{{model_path:path}}", model_detail),
        Route(f"{base}/rankings/all", rankings),
        Route(f"{base}/health/summary", health_summary),
        Route(f"{base}/health/routes", health_routes),
        Route(f"{base}/providers", providers),
        Route(f"{base}/providers/{{provider_id}}/stats", provider_stats),
    ]

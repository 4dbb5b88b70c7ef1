from __future__ import annotations

import re
from decimal import Decimal

import httpx

from alltoken_agent.simulator import SimulatorServer

SEED_CHAT = {
    "gpt-5.4-nano", "gpt-5.4-mini", "claude-haiku-4-5", "gemini-3-flash-preview",
    "glm-4.7-flash", "qwen3.6-flash", "deepseek-v4-flash", "minimax-m2.5-highspeed",
    "gpt-5.4", "gpt-5.4-pro", "gpt-5.5", "claude-opus-4-7", "claude-sonnet-4-6",
    "gemini-3.1-pro-preview", "glm-5.1", "deepseek-v4-pro", "qwen3.6-max-preview",
    "kimi-k2.6", "minimax-m2.7", "gpt-5.3-codex", "qwen3-coder-next",
}  # fmt: skip
SEED_IMAGE = {"gpt-image-2", "wan2.7-image", "wan2.7-image-pro"}
SEED_VIDEO = {
    "seedance-1.5-pro", "seedance-2.0", "happyhorse-1.0-t2v", "happyhorse-1.0-i2v",
    "happyhorse-1.0-video-edit", "happyhorse-1.0-r2v", "seedance-1.0-pro",
    "seedance-1.0-pro-fast", "seedance-2.0-fast", "seedance-2.5",
}  # fmt: skip
DECIMAL = re.compile(r"^\d+\.\d+$")


def test_models_list_has_all_modalities(client: httpx.Client) -> None:
    body = client.get("/models").json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    assert SEED_CHAT | SEED_IMAGE | SEED_VIDEO <= set(by_id)
    for model_id in SEED_VIDEO:
        assert by_id[model_id]["modality"] == "video"
        assert by_id[model_id]["object"] == "video"
    assert by_id["gpt-image-2"]["modality"] == "image"
    assert by_id["gpt-5.4"]["modality"] == "vision"
    assert by_id["glm-5.1"]["modality"] == "text"
    for entry in by_id.values():
        assert {
            "owned_by",
            "display_name",
            "brand",
            "family",
            "input_modalities",
            "output_modalities",
        } <= set(entry)
    assert by_id["claude-opus-4-7"]["owned_by"] == "chat"
    assert by_id["minimax-m2.7"]["output_modalities"] == ["text"]


def test_models_require_auth(sim: SimulatorServer) -> None:
    with httpx.Client(base_url=sim.base_url, trust_env=False) as anonymous:
        for path in ("/models", "/images/models", "/videos/models"):
            response = anonymous.get(path)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "invalid_api_key"


def test_image_and_video_model_lists(client: httpx.Client) -> None:
    images = client.get("/images/models").json()["data"]
    assert {m["id"] for m in images} == SEED_IMAGE
    videos = client.get("/videos/models").json()["data"]
    assert {m["id"] for m in videos} == SEED_VIDEO
    by_id = {m["id"]: m["capabilities"] for m in videos}
    for caps in by_id.values():
        assert {
            "ratios",
            "resolutions",
            "duration",
            "frames",
            "features",
            "prompt",
            "content",
            "input_types",
        } <= set(caps)
        assert caps["resolutions"]["default"] in caps["resolutions"]["values"]
    assert by_id["seedance-2.5"]["duration"]["max"] == 30
    assert by_id["seedance-2.5"]["resolutions"]["values"] == ["480p", "720p"]
    assert by_id["seedance-1.0-pro"]["frames"] is not None
    assert [m for m, caps in by_id.items() if caps["frames"] is not None] == ["seedance-1.0-pro"]
    assert by_id["happyhorse-1.0-t2v"]["duration"]["type"] == "enum"


def test_public_models_need_no_auth_and_carry_prices(root: httpx.Client) -> None:
    data = root.get("/api-account/models").json()["data"]
    by_id = {m["id"]: m for m in data}
    nano = by_id["gpt-5.4-nano"]
    assert nano["pricing"]["input_price"] == "0.0002"
    assert nano["pricing"]["output_price"] == "0.00125"
    assert nano["context_length"] > nano["max_output_tokens"] > 0
    assert set(nano["capabilities"]) == {
        "tools",
        "vision",
        "reasoning",
        "web_search",
        "structured_output",
    }
    assert by_id["deepseek-v4-pro"]["capabilities"]["web_search"] is True
    assert by_id["claude-opus-4-7"]["capabilities"]["web_search"] is False
    assert DECIMAL.match(by_id["gpt-image-2"]["pricing"]["per_image"])
    assert DECIMAL.match(by_id["seedance-2.0"]["pricing"]["per_second"])
    for entry in data:
        if entry["modality"] in ("text", "vision"):
            assert (
                Decimal(entry["pricing"]["output_price"])
                >= Decimal(entry["pricing"]["input_price"])
                > 0
            )
    videos = root.get("/api-account/models", params={"modality": "video"}).json()["data"]
    assert {m["id"] for m in videos} == SEED_VIDEO


def test_public_model_detail_and_filters(root: httpx.Client) -> None:
    detail = root.get("/api-account/models/gpt-5.4").json()["data"]
    assert detail["id"] == "gpt-5.4"
    assert detail["brand"] == "OpenAI"
    missing = root.get("/api-account/models/not-a-model")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    facets = root.get("/api-account/models/filters").json()["data"]
    assert {"text", "vision", "image", "video"} == set(facets["modalities"])
    assert "Anthropic" in facets["brands"]


def test_public_rankings(root: httpx.Client) -> None:
    data = root.get("/api-account/rankings/all").json()["data"]
    assert {"usage", "speed", "benchmark", "category_leaders"} <= set(data)
    speeds = [row["tokens_per_second"] for row in data["speed"]]
    assert speeds == sorted(speeds, reverse=True)
    assert all({"model", "tokens_per_second", "ttft_ms"} <= set(row) for row in data["speed"])
    assert data["category_leaders"]["speed"] == data["speed"][0]["model"]


def test_health_summary_matches_routes(root: httpx.Client) -> None:
    summary = root.get("/api-account/health/summary").json()["data"]
    routes = root.get("/api-account/health/routes", params={"time_range": "24h"}).json()["data"][
        "routes"
    ]
    assert summary["total_routes"] == len(routes)
    degraded = [r for r in routes if r["status"] == "degraded"]
    assert 1 <= summary["degraded_routes"] == len(degraded) <= 2
    assert summary["healthy_routes"] + summary["degraded_routes"] + summary[
        "incident_routes"
    ] == len(routes)
    assert isinstance(summary["median_latency_ms"], int)
    assert 90 < summary["overall_availability"] <= 100
    for route in routes:
        assert route["latency_p95_ms"] > route["latency_p50_ms"] > 0
        assert 0 < route["availability"] <= 100
        assert route["throughput_tps"] > 0
    assert all(r["incidents"] for r in degraded)
    assert min(r["availability"] for r in degraded) < min(
        r["availability"] for r in routes if r["status"] == "healthy"
    )
    bad = root.get("/api-account/health/routes", params={"time_range": "forever"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "time_range"


def test_providers_and_stats(root: httpx.Client) -> None:
    providers = root.get("/api-account/providers").json()["data"]
    ids = {p["id"] for p in providers}
    assert {"openai", "anthropic", "deepseek"} <= ids
    openai_models = next(p for p in providers if p["id"] == "openai")["models"]
    assert "gpt-5.4" in openai_models
    stats = root.get("/api-account/providers/openai/stats").json()["data"]
    assert stats["provider"] == "openai"
    assert stats["latency_p95_ms"] >= stats["latency_p50_ms"]
    assert root.get("/api-account/providers/nobody/stats").status_code == 404

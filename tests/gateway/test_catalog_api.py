"""Model lists and the public catalog over the wire (`Catalog` uncached), typed at the edge.

Most tests run against the simulator. The simulator does not log its public
`/api-account` routes, so the tests that check headers on the wire, or need shapes it
never sends, use a canned loopback server (tests/catalog/canned.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent import (
    AuthenticationError,
    BadRequestError,
    Gateway,
    NotFoundError,
    UpstreamError,
    UserError,
)
from alltoken_agent.catalog import Catalog
from alltoken_agent.gateway.catalog_parse import (
    parse_catalog,
    parse_health,
    parse_models,
    parse_rankings,
    parse_routes,
)
from tests.catalog.canned import canned
from tests.gateway.helpers import TEST_KEY, gateway_for

ENTRY = {
    "id": "m-1",
    "name": "M One",
    "modality": "text",
    "context_length": 1000,
    "pricing": {"input_price": "0.001", "output_price": "0.002", "unit": "1K tokens"},
    "capabilities": {"tools": True, "vision": False},
}


def wire(gateway: Gateway) -> Catalog:
    """The catalog asked every time: what these tests read is what came over the wire."""
    return Catalog(gateway, use_cache=False)


SUMMARY = {
    "total_routes": 3,
    "healthy_routes": 2,
    "degraded_routes": 1,
    "incident_routes": 0,
    "median_latency_ms": 400,
    "overall_availability": 99.5,
}


async def test_list_parses_model_info_and_sends_the_key(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        models = await wire(gateway).models()
    by_id = {m.id: m for m in models}
    nano = by_id["gpt-5.4-nano"]
    assert (nano.modality, nano.owned_by, nano.brand) == ("vision", "chat", "OpenAI")
    assert nano.input_modalities == ("text", "image") and nano.capabilities is None
    video = next(m for m in models if m.modality == "video")
    assert video.object == "video" and isinstance(video.capabilities, dict)
    assert "duration" in video.capabilities
    (request,) = sim.state.requests
    assert (request.method, request.path, request.has_auth) == ("GET", "/v1/models", True)


async def test_list_filters_by_modality_locally(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        videos = await wire(gateway).models("video")
        text = await wire(gateway).models("text")
    assert videos and {m.modality for m in videos} == {"video"}
    assert text and {m.modality for m in text} == {"text"}
    assert [r.query for r in sim.state.requests] == [{}, {}]


@pytest.mark.slow
async def test_tokenhub_list_has_no_modality_and_no_videos_fallback(th_sim: Any) -> None:
    async with gateway_for(th_sim, dialect="tokenhub") as gateway:
        models = await wire(gateway).models()
    assert models and all(m.modality is None for m in models)
    assert [r.path for r in th_sim.state.requests] == ["/v1/models"]


async def test_video_models_come_from_videos_models_when_models_lacks_them() -> None:
    chat = {"id": "chat-1", "object": "model", "modality": "text"}
    video = {"id": "vid-1", "object": "model", "capabilities": {"ratios": {"values": ["16:9"]}}}
    routes: dict[str, Any] = {
        "/v1/models": (200, {"object": "list", "data": [chat]}),
        "/v1/videos/models": (200, {"object": "list", "data": [video]}),
    }
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            everything = await wire(gateway).models()
            only_text = await wire(gateway).models("text")
        assert server.paths() == ["/v1/models", "/v1/videos/models", "/v1/models"]
    assert [(m.id, m.modality) for m in everything] == [("chat-1", "text"), ("vid-1", "video")]
    assert everything[1].capabilities == {"ratios": {"values": ["16:9"]}}
    assert [m.id for m in only_text] == ["chat-1"]


async def test_a_failing_videos_models_leaves_the_main_list() -> None:
    routes: dict[str, Any] = {"/v1/models": (200, {"data": [{"id": "chat-1"}]})}
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            models = await wire(gateway).models()
        assert server.paths() == ["/v1/models", "/v1/videos/models"]  # 404 there
    assert [m.id for m in models] == ["chat-1"]


async def test_catalog_parses_prices_and_capabilities(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        entries = {e.id: e for e in await wire(gateway).entries()}
    nano = entries["gpt-5.4-nano"]
    assert nano.price is not None
    assert (nano.price.input_per_1k, nano.price.output_per_1k) == (
        Decimal("0.0002"),
        Decimal("0.00125"),
    )
    assert nano.capabilities == {"tools", "vision", "reasoning", "structured_output"}
    assert nano.context_length == 400000 and nano.is_chat
    assert "web_search" in entries["deepseek-v4-pro"].capabilities
    image, video = entries["gpt-image-2"], entries["seedance-2.0"]
    assert image.price is not None and image.price.per_image == Decimal("0.04")
    assert video.price is not None and video.price.per_video_second == Decimal("0.1")
    assert not image.is_chat and image.capabilities == frozenset()
    assert sim.state.requests == []  # public routes are not /v1 requests


async def test_public_endpoints_send_no_authorization_header() -> None:
    routes: dict[str, Any] = {
        "/v1/models": (200, {"data": [{"id": "m-1"}, {"id": "vid", "modality": "video"}]}),
        "/api-account/models": (200, {"data": [ENTRY]}),
        "/api-account/models/m-1": (200, {"data": ENTRY}),
        "/api-account/rankings/all": (200, {"data": {"speed": []}}),
        "/api-account/health/summary": (200, {"data": SUMMARY}),
        "/api-account/health/routes": (200, {"data": {"routes": []}}),
        "/api-account/providers": (200, {"data": []}),
    }
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            await wire(gateway).models()
            await wire(gateway).entries()
            await wire(gateway).entry("m-1")
            await wire(gateway).rankings()
            await wire(gateway).health()
            await wire(gateway).routes("7d")
            await wire(gateway).providers()
        seen = server.seen
    assert seen[0].path == "/v1/models"
    assert seen[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    public = seen[1:]
    assert [s.path for s in public] == [p for p in routes if p.startswith("/api-account")]
    assert all("authorization" not in s.headers for s in public)
    assert all(s.headers["user-agent"].startswith("alltoken-agent/") for s in public)
    assert public[4].query == "time_range=7d"


@pytest.mark.parametrize("wrapped", [True, False], ids=["data-wrapper", "bare"])
async def test_health_summary_with_or_without_the_data_wrapper(wrapped: bool) -> None:
    body = {"data": SUMMARY} if wrapped else SUMMARY
    with canned({"/api-account/health/summary": (200, body)}) as server:
        async with gateway_for(server) as gateway:
            health = await wire(gateway).health()
    assert health.to_dict() == SUMMARY


async def test_health_and_routes_from_the_simulator(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        health = await wire(gateway).health()
        routes = await wire(gateway).routes()
        with pytest.raises(BadRequestError) as caught:
            await wire(gateway).routes("1y")
    assert health.total_routes == len(routes) > 0
    assert health.degraded_routes == sum(r.status == "degraded" for r in routes) > 0
    kimi = next(r for r in routes if r.model == "kimi-k2.6")
    assert kimi.status == "degraded" and kimi.provider == "moonshot"
    assert kimi.latency_p95_ms is not None and kimi.latency_p50_ms is not None
    assert kimi.latency_p95_ms > kimi.latency_p50_ms and kimi.throughput_tps
    assert caught.value.status == 400 and caught.value.param == "time_range"


async def test_rankings_and_providers_from_the_simulator(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        rankings = await wire(gateway).rankings()
        providers = await wire(gateway).providers()
    assert rankings.speed and all(r.tokens_per_second and r.ttft_ms for r in rankings.speed)
    speeds = [r.tokens_per_second or 0 for r in rankings.speed]
    assert speeds == sorted(speeds, reverse=True)
    assert [r.rank for r in rankings.benchmark] == list(range(1, len(rankings.benchmark) + 1))
    assert rankings.usage[0].tokens and rankings.category_leaders["coding"] == "gpt-5.3-codex"
    moonshot = next(p for p in providers if p.id == "moonshot")
    assert moonshot.status == "degraded" and "kimi-k2.6" in moonshot.models


async def test_model_detail_and_not_found(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        entry = await wire(gateway).entry("gpt-5.4")
        with pytest.raises(NotFoundError) as caught:
            await wire(gateway).entry("no-such-model")
    assert entry.id == "gpt-5.4" and entry.price is not None
    assert caught.value.status == 404


async def test_an_empty_model_detail_is_not_found() -> None:
    with canned({"/api-account/models/ghost": (200, {"data": None})}) as server:
        async with gateway_for(server) as gateway:
            with pytest.raises(NotFoundError, match="ghost"):
                await wire(gateway).entry("ghost")


@pytest.mark.parametrize("method", ["entries", "rankings", "health", "routes", "providers"])
async def test_tokenhub_has_no_public_catalog(th_sim: Any, method: str) -> None:
    async with Gateway("tokenhub", api_key=TEST_KEY, base_url=th_sim.base_url) as gateway:
        with pytest.raises(UserError) as caught:
            await getattr(wire(gateway), method)()
        with pytest.raises(UserError):
            await wire(gateway).entry("gpt-5.4")
    message = str(caught.value)
    assert "the tokenhub provider has no public model catalog" in message
    assert "GET /models" in message
    assert th_sim.state.requests == []


async def test_public_requests_retry_5xx_like_chat() -> None:
    failure = (503, {"error": {"code": "all_providers_failed", "message": "busy"}})
    routes: dict[str, Any] = {"/api-account/models": [failure, (200, {"data": [ENTRY]})]}
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            entries = await wire(gateway).entries()
        assert server.paths() == ["/api-account/models"] * 2
    assert [e.id for e in entries] == ["m-1"]


async def test_401_is_not_retried_and_maps_to_authentication_error() -> None:
    refused = (401, {"error": {"code": "invalid_api_key", "message": "bad key"}})
    with canned({"/v1/models": refused}) as server:
        async with gateway_for(server) as gateway:
            with pytest.raises(AuthenticationError) as caught:
                await wire(gateway).models()
        assert server.paths() == ["/v1/models"]
    assert caught.value.attempts == 1 and TEST_KEY not in str(caught.value)


async def test_a_body_that_is_not_json_is_an_upstream_error() -> None:
    with canned({"/api-account/rankings/all": (200, b"<html>maintenance</html>")}) as server:
        async with gateway_for(server) as gateway:
            with pytest.raises(UpstreamError) as caught:
                await wire(gateway).rankings()
    assert caught.value.code == "malformed_response"


def test_parsing_tolerates_missing_and_extra_fields() -> None:
    entries = parse_catalog(
        {
            "data": [
                {"id": "bare"},
                {"name": "no id, dropped"},
                "not an object",
                {
                    "id": "rich",
                    "unknown": {"nested": True},
                    "input_modalities": ["text", "image"],
                    "output_modalities": ["text"],
                    "pricing": {"prompt": "2", "completion": "8", "unit": "1M tokens"},
                    "capabilities": ["function_calling", "search", "teleport"],
                    "context_length": "128000",
                },
            ]
        }
    )
    bare, rich = entries
    assert (bare.id, bare.price, bare.modality) == ("bare", None, None)
    assert bare.capabilities == frozenset()
    assert rich.modality == "vision" and rich.context_length == 128000
    assert rich.capabilities == {"tools", "web_search", "vision"}
    assert rich.price is not None
    assert (rich.price.input_per_1k, rich.price.output_per_1k) == (
        Decimal("0.002"),
        Decimal("0.008"),
    )
    assert rich.raw["unknown"] == {"nested": True}


def test_parsing_odd_shapes_never_raises() -> None:
    assert parse_models(None) == [] and parse_models({"data": "x"}) == []
    assert parse_catalog([{"id": "a"}])[0].id == "a"  # a bare list, no wrapper
    assert parse_health("nonsense").to_dict() == dict.fromkeys(SUMMARY)
    odd = parse_health({"data": {"total_routes": "7", "overall_availability": "x"}})
    assert (odd.total_routes, odd.overall_availability) == (7, None)
    assert parse_rankings({"data": {"speed": [{"id": "m", "tps": 10}]}}).speed[0].rank == 1
    routes = parse_routes({"routes": [{"model": "m", "status": "OUTAGE"}, {"status": "ok"}]})
    assert [(r.model, r.status) for r in routes] == [("m", "incident")]
    assert parse_routes([{"model": "m", "status": "weird"}])[0].status == "unknown"

"""`Catalog`: the disk cache in front of the gateway, prices and auto-choice, over HTTP."""

from __future__ import annotations

import json
import socket
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway, GatewayConnectionError, NotFoundError, UserError
from alltoken_agent.catalog import CacheTTL, Catalog, Requirements, StaleNotice, cache_key
from alltoken_agent.config import PriceSettings
from alltoken_agent.simulator import SimulatorServer
from tests.catalog.canned import canned
from tests.gateway.helpers import TEST_KEY, gateway_for

ENTRY = {"id": "m-1", "modality": "text", "pricing": {"input_price": "1", "output_price": "2"}}


def cache_files(home: Path) -> list[Path]:
    folder = home / "cache" / "catalog"
    return sorted(folder.glob("*.json")) if folder.exists() else []


async def test_model_list_is_cached_until_its_ttl_and_refresh_bypasses(
    sim: Any, isolated_environment: Path
) -> None:
    async with gateway_for(sim) as gateway:
        catalog = Catalog(gateway)
        first = await catalog.models()
        videos = await catalog.models("video")  # filtered from the cached list
        assert len(sim.state.requests) == 1
        await catalog.models(refresh=True)
        assert len(sim.state.requests) == 2
        expired = Catalog(gateway, ttl=CacheTTL(models=0))
        assert await expired.models() == first
        assert len(sim.state.requests) == 3
    assert videos and all(m.modality == "video" for m in videos)
    (path,) = cache_files(isolated_environment)
    assert path.name.startswith("sim-alltoken-") and path.name.endswith("-models.json")
    assert TEST_KEY not in path.read_text(encoding="utf-8")


async def test_public_answers_are_cached_too() -> None:
    routes: dict[str, Any] = {
        "/api-account/models": (200, {"data": [ENTRY]}),
        "/api-account/health/summary": (200, {"data": {"total_routes": 4}}),
    }
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            catalog = Catalog(gateway)
            assert [e.id for e in await catalog.entries()] == ["m-1"]
            assert [e.id for e in await catalog.entries()] == ["m-1"]
            assert (await catalog.health()).total_routes == 4
            assert (await catalog.health()).total_routes == 4
            await catalog.entries(refresh=True)
        assert server.paths() == [
            "/api-account/models",
            "/api-account/health/summary",
            "/api-account/models",
        ]


async def test_stale_cache_stands_in_when_the_gateway_is_unreachable() -> None:
    server = SimulatorServer("alltoken").start()
    url = server.base_url
    try:
        async with gateway_for(server) as gateway:
            warm = await Catalog(gateway).entries()
            await Catalog(gateway).models()
    finally:
        server.stop()  # the port is closed from here on
    notices: list[StaleNotice] = []
    async with gateway_for(server_at(url)) as gateway:
        catalog = Catalog(gateway, on_stale=notices.append)
        key_file = next(p for p in catalog_dir().glob("*-catalog.json"))
        age_by_hours(key_file, 3)
        stale = await catalog.entries()
        models = await catalog.models()
        with pytest.raises(GatewayConnectionError) as caught:
            await catalog.rankings()  # never cached: nothing to fall back on
    assert stale == warm and models  # the model list was still fresh: no request, no notice
    assert [n.what for n in notices] == ["catalog"]
    assert notices[0].message == (
        "using the catalog cached 3 h ago: gateway unreachable (connection_error)"
    )
    assert caught.value.attempts == 3  # the retry policy ran before giving up


async def test_a_copy_the_simulator_gave_stays_simulated_for_a_new_gateway(sim: Any) -> None:
    # Made-up figures never pass for a real gateway's: the cache keeps who answered.
    server = SimulatorServer("alltoken").start()  # labels its replies, as a standalone one does
    try:
        async with gateway_for(server) as gateway:
            first = Catalog(gateway)
            assert not first.simulated  # nobody has answered yet
            await first.models()
            assert first.simulated
        async with gateway_for(server) as gateway:
            again = Catalog(gateway)
            await again.models()
            # The cached copy answered: this gateway has had no reply to learn it from.
            assert len(server.state.requests) == 1
            assert not gateway.simulated and again.simulated
    finally:
        server.stop()
    async with gateway_for(sim) as gateway:  # the session simulator plays a real gateway
        real = Catalog(gateway)
        await real.models()
        await real.models()
        assert len(sim.state.requests) == 1 and not real.simulated


async def test_a_5xx_after_retries_and_refresh_also_fall_back_to_the_stale_copy() -> None:
    down = (503, {"error": {"code": "all_providers_failed", "message": "down"}})
    routes: dict[str, Any] = {"/api-account/models": [(200, {"data": [ENTRY]}), down]}
    notices: list[StaleNotice] = []
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            catalog = Catalog(gateway, on_stale=notices.append)
            fresh = await catalog.entries()
            assert await catalog.entries(refresh=True) == fresh
        assert len(server.paths()) == 1 + 3  # the warm-up, then one try and two retries
    assert [n.error.code for n in notices] == ["all_providers_failed"]
    assert notices[0].message.startswith("using the catalog cached 0 s ago")


async def test_a_corrupt_cache_file_is_ignored_not_fatal(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        await Catalog(gateway).models()
        (path,) = catalog_dir().glob("*-models.json")
        path.write_text("{half a file", encoding="utf-8")
        models = await Catalog(gateway).models()
        assert models and len(sim.state.requests) == 2  # asked again
        assert json.loads(path.read_text(encoding="utf-8"))["format"] == 1  # rewritten
        path.write_text(json.dumps({"format": 1, "saved_at": time.time(), "data": "x"}))
        assert await Catalog(gateway).models() == models
        assert len(sim.state.requests) == 3


async def test_a_corrupt_cache_is_no_stale_fallback() -> None:
    async with gateway_for(server_at(closed_port_url())) as gateway:
        catalog = Catalog(gateway)
        key = cache_key(gateway.provider.name, gateway.base_url, "catalog")
        path = catalog_dir() / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("garbage", encoding="utf-8")
        with pytest.raises(GatewayConnectionError):
            await catalog.entries()
        # the same file, intact and old, does stand in: the key above is the real one
        old = {"format": 1, "saved_at": time.time() - 7200, "data": [ENTRY]}
        path.write_text(json.dumps(old), encoding="utf-8")
        assert [e.id for e in await catalog.entries()] == ["m-1"]


async def test_entry_is_cached_per_model_and_not_found_propagates(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        catalog = Catalog(gateway)
        entry = await catalog.entry("gpt-5.4")
        assert (await catalog.entry("gpt-5.4")) == entry
        with pytest.raises(NotFoundError):
            await catalog.entry("no-such-model")
    assert len(list(catalog_dir().glob("*-model-*.json"))) == 1


async def test_an_offline_gateway_writes_no_cache(isolated_environment: Path) -> None:
    async with Gateway.offline() as gateway:
        assert await Catalog(gateway).entries()
    assert cache_files(isolated_environment) == []


async def test_prices_merge_catalog_prices_and_config_overrides(sim: Any) -> None:
    overrides = {
        "gpt-5.4-nano": PriceSettings(output_per_1k=Decimal("0.5")),
        "my-local-model": PriceSettings(input_per_1k=Decimal("0"), output_per_1k=Decimal("0")),
    }
    async with gateway_for(sim) as gateway:
        lookup = await Catalog(gateway).prices(overrides)
    nano, gpt, mine = lookup("gpt-5.4-nano"), lookup("gpt-5.4"), lookup("my-local-model")
    assert nano is not None and nano.source == "config"
    assert (nano.input_per_1k, nano.output_per_1k) == (Decimal("0.0002"), Decimal("0.5"))
    assert gpt is not None and gpt.source == "catalog" and gpt.input_per_1k == Decimal("0.0025")
    assert mine is not None and mine.output_per_1k == 0
    assert lookup("unknown-model") is None


async def test_prices_without_a_public_catalog_use_the_overrides_only(th_sim: Any) -> None:
    overrides = {"deepseek-v3.2": PriceSettings(input_per_1k=Decimal("0.1"))}
    async with Gateway("tokenhub", api_key=TEST_KEY, base_url=th_sim.base_url) as gateway:
        lookup = await Catalog(gateway).prices(overrides)
    priced = lookup("deepseek-v3.2")
    assert priced is not None and priced.input_per_1k == Decimal("0.1")
    assert lookup("gpt-5.4") is None and th_sim.state.requests == []


@pytest.mark.parametrize(
    ("spec", "requirements", "expected"),
    [
        ("auto:cheap", Requirements(), "qwen3.6-flash"),
        ("auto:cheap", Requirements(vision=True, reasoning=True, search=False), "qwen3.6-flash"),
        ("auto:best", Requirements(vision=True), None),
        ("auto:fast", Requirements(tools=True), None),
    ],
)
async def test_choose_through_the_simulator(
    sim: Any, spec: str, requirements: Requirements, expected: str | None
) -> None:
    async with gateway_for(sim) as gateway:
        choice = await Catalog(gateway).choose(spec, requirements)
    assert choice.model == choice.candidates[0]
    if expected is not None:
        assert choice.model == expected
    # the simulator reports these two routes degraded: never chosen while others are fine
    assert {"gemini-3.1-pro-preview", "kimi-k2.6"}.isdisjoint(choice.candidates)
    assert choice.skipped.get("kimi-k2.6") == "route degraded"
    assert choice.policy == spec.removeprefix("auto:") and choice.reason.startswith(choice.model)


async def test_choose_rejects_an_unknown_policy_before_any_request(
    sim: Any, isolated_environment: Path
) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(UserError, match="unknown model policy 'auto:smart'"):
            await Catalog(gateway).choose("auto:smart")
    assert cache_files(isolated_environment) == []


async def test_there_is_one_catalog_api_and_the_gateway_only_fetches() -> None:
    import alltoken_agent.gateway as gateway_package
    from alltoken_agent.gateway import catalog_api

    # The catalog's methods live on Catalog alone; the wire layer keeps one GET.
    assert not hasattr(Gateway, "models") and not hasattr(gateway_package, "ModelsAPI")
    assert catalog_api.__all__ == ["get_json"]


async def test_every_answer_comes_back_from_its_cache_file_as_it_came_from_the_wire() -> None:
    server = SimulatorServer("alltoken").start()
    url = server.base_url
    answers = [
        ("model list", lambda c: c.models()),
        ("catalog", lambda c: c.entries()),
        ("catalog entry of gpt-5.4", lambda c: c.entry("gpt-5.4")),
        ("rankings", lambda c: c.rankings()),
        ("health summary", lambda c: c.health()),
        ("route health", lambda c: c.routes("7d")),
        ("provider list", lambda c: c.providers()),
        ("model filters", lambda c: c.filters()),
        ("stats of provider anthropic", lambda c: c.provider_stats("anthropic")),
    ]
    try:
        async with gateway_for(server) as gateway:
            fresh = [await ask(Catalog(gateway)) for _, ask in answers]
    finally:
        server.stop()
    assert all(fresh)
    notices: list[StaleNotice] = []
    expired = CacheTTL(catalog=0, rankings=0, health=0, models=0, providers=0)
    async with gateway_for(server_at(url)) as gateway:
        catalog = Catalog(gateway, ttl=expired, on_stale=notices.append)
        kept = [await ask(catalog) for _, ask in answers]
    assert kept == fresh
    assert [n.what for n in notices] == [what for what, _ in answers]


async def test_a_bare_model_entry_with_a_data_field_is_the_entry() -> None:
    odd = {"id": "odd", "data": [1, 2], "pricing": {"input_price": "1", "output_price": "2"}}
    with canned({"/api-account/models/odd": (200, odd)}) as server:
        async with gateway_for(server) as gateway:
            catalog = Catalog(gateway)
            entry = await catalog.entry("odd")
            assert await catalog.entry("odd") == entry  # and its cached copy reads back
        assert server.paths() == ["/api-account/models/odd"]
    assert entry.id == "odd" and entry.price is not None


def catalog_dir() -> Path:
    from alltoken_agent import app_dirs

    return app_dirs().cache / "catalog"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def server_at(url: str) -> Any:
    """Something with a ``base_url``, for ``gateway_for``."""
    return type("At", (), {"base_url": url})()


def age_by_hours(path: Path, hours: float) -> None:
    content = json.loads(path.read_text(encoding="utf-8"))
    content["saved_at"] -= hours * 3600
    path.write_text(json.dumps(content), encoding="utf-8")

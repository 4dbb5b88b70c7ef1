"""`Catalog.filters()` and `Catalog.provider_stats()`: the two undocumented public answers
(docs/wire-format.md §1.6), read from the simulator over loopback and, for shapes it
never sends (hostile text, other layouts), from a canned server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import NotFoundError, UserError
from alltoken_agent.catalog import Catalog
from tests.catalog.canned import canned
from tests.gateway.helpers import gateway_for


@pytest.mark.slow
async def test_filters_from_the_simulator_are_facets_of_words(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        found = await Catalog(gateway, use_cache=False).filters()
    assert {"brands", "families", "modalities", "providers"} <= set(found.facets)
    assert "OpenAI" in found.facets["brands"]
    assert set(found.facets["modalities"]) >= {"text", "image", "video"}
    assert found.to_dict()["providers"] == list(found.facets["providers"])
    assert isinstance(found.body, dict) and "brands" in found.body  # the `data` unwrapped


async def test_provider_stats_from_the_simulator(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        stats = await Catalog(gateway, use_cache=False).provider_stats("anthropic")
    assert stats.provider == "anthropic"
    assert isinstance(stats.stats["requests_24h"], int)
    assert 0 <= float(stats.stats["error_rate"] or 0) < 1
    assert stats.to_dict()["provider"] == "anthropic"


async def test_provider_stats_of_an_unknown_provider_is_not_found(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(NotFoundError):
            await Catalog(gateway, use_cache=False).provider_stats("no-such-provider")


async def test_a_provider_id_cannot_reach_another_path() -> None:
    routes: dict[str, Any] = {"/api-account/providers/a%2Fb/stats": (200, {"data": {"x": 1}})}
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            stats = await Catalog(gateway, use_cache=False).provider_stats("a/b")
            with pytest.raises(UserError):
                await Catalog(gateway, use_cache=False).provider_stats("..")
    assert server.paths() == ["/api-account/providers/a%2Fb/stats"]
    assert stats.stats == {"x": 1}


async def test_tokenhub_has_no_public_filters(th_sim: Any) -> None:
    async with gateway_for(th_sim, dialect="tokenhub") as gateway:
        with pytest.raises(UserError, match="no public model catalog"):
            await Catalog(gateway, use_cache=False).filters()
        with pytest.raises(UserError, match="no public model catalog"):
            await Catalog(gateway, use_cache=False).provider_stats("openai")


async def test_other_filter_layouts_and_hostile_text_are_read_lightly() -> None:
    escape = "\x1b[2J"
    routes: dict[str, Any] = {
        "/api-account/models/filters": (
            200,
            [
                {"name": "brands", "values": [{"id": "OpenAI"}, {"label": f"Evil{escape}"}]},
                {"key": "counts", "options": {"text": 12, "video": 3}},
                {"name": "broken", "values": "not a list"},
                {"name": None, "values": ["x"]},
                {"name": "long", "values": ["y" * 5000, True, None, 1.5]},
            ],
        ),
    }
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            found = await Catalog(gateway, use_cache=False).filters()
    assert found.facets["brands"] == ("OpenAI", "Evil[2J")
    assert found.facets["counts"] == ("text", "video")
    assert "broken" not in found.facets and len(found.facets) == 3
    assert [len(v) for v in found.facets["long"]] == [200, 3]


async def test_provider_stats_flatten_one_level_and_drop_what_is_no_statistic() -> None:
    # JSON cannot carry inf: the canned server would refuse; send the text that holds it.
    raw = (
        b'{"data": {"provider": "other-name", "requests": 10, "latency": {"p50": 300, '
        b'"p95": Infinity, "deep": {"x": 1}}, "history": [1, 2, 3], '
        b'"huge": 1000000000000000000000000000000, "ok": true, "note": "fine\\u0007"}}'
    )
    with canned({"/api-account/providers/p1/stats": (200, raw)}) as server:
        async with gateway_for(server) as gateway:
            stats = await Catalog(gateway, use_cache=False).provider_stats("p1")
    assert stats.provider == "other-name"
    assert stats.stats == {
        "requests": 10,
        "latency.p50": 300,
        "latency.p95": None,
        "huge": None,
        "ok": True,
        "note": "fine",
    }


async def test_the_catalog_caches_filters_and_provider_stats(isolated_environment: Path) -> None:
    routes: dict[str, Any] = {
        "/api-account/models/filters": (200, {"data": {"brands": ["A"]}}),
        "/api-account/providers/p1/stats": (200, {"data": {"requests": 5}}),
    }
    with canned(routes) as server:
        async with gateway_for(server) as gateway:
            catalog = Catalog(gateway)
            for _ in range(2):
                assert (await catalog.filters()).facets == {"brands": ("A",)}
                assert (await catalog.provider_stats("p1")).stats == {"requests": 5}
            await catalog.filters(refresh=True)
    assert server.paths().count("/api-account/models/filters") == 2
    assert server.paths().count("/api-account/providers/p1/stats") == 1

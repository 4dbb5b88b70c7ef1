"""`choose_model`: pure functions over catalog entries, rankings and route health."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alltoken_agent import UserError
from alltoken_agent.catalog import (
    ModelPrice,
    Requirements,
    blended_price,
    choose_model,
    is_auto,
    parse_policy,
    route_status,
)
from alltoken_agent.gateway import CatalogEntry, RankingEntry, Rankings, RouteHealth

ALL = frozenset({"tools", "vision", "reasoning", "web_search", "structured_output"})


def entry(
    model: str,
    inp: str | None = "0.001",
    out: str | None = "0.002",
    caps: frozenset[str] | set[str] = ALL,
    modality: str = "text",
) -> CatalogEntry:
    price = ModelPrice(
        model=model,
        input_per_1k=None if inp is None else Decimal(inp),
        output_per_1k=None if out is None else Decimal(out),
    )
    return CatalogEntry(model, modality=modality, price=price, capabilities=frozenset(caps))


def route(model: str, status: str, tps: float | None = None) -> RouteHealth:
    return RouteHealth(model=model, status=status, throughput_tps=tps)  # type: ignore[arg-type]


def test_cheap_blends_input_and_output_three_to_one() -> None:
    # low-input but pricey output: (3*0.0001 + 0.01) / 4 = 0.002575 > 0.001
    entries = [entry("low-input", "0.0001", "0.01"), entry("even", "0.001", "0.001")]
    choice = choose_model("cheap", Requirements(), entries)
    assert choice.model == "even" and choice.candidates == ["even", "low-input"]
    assert blended_price(entries[0].price) == Decimal("0.002575")
    assert "cheapest chat model" in choice.reason and "$1.00 per 1M tokens" in choice.reason


def test_cheap_puts_unpriced_models_last_and_breaks_ties_by_id() -> None:
    entries = [entry("zeta"), entry("alpha"), entry("free?", None, None)]
    assert choose_model("cheap", Requirements(), entries).candidates == ["alpha", "zeta", "free?"]


def test_fast_uses_tokens_per_second_then_ttft_then_route_throughput() -> None:
    entries = [entry(m) for m in ("a", "b", "c", "d", "e")]
    rankings = Rankings(
        speed=(
            RankingEntry("a", 1, tokens_per_second=100, ttft_ms=500),
            RankingEntry("b", 2, tokens_per_second=100, ttft_ms=200),
            RankingEntry("c", 3, tokens_per_second=150, ttft_ms=900),
        )
    )
    routes = [route("d", "healthy", tps=80), route("e", "healthy", tps=300)]
    choice = choose_model("fast", Requirements(), entries, rankings, routes)
    assert choice.candidates == ["c", "b", "a", "e", "d"]
    assert "150 tokens/s" in choice.reason and "900 ms" in choice.reason


def test_fast_without_a_speed_ranking_falls_back_to_route_throughput() -> None:
    entries = [entry("a"), entry("b")]
    routes = [route("a", "healthy", tps=50), route("b", "healthy", tps=70)]
    choice = choose_model("fast", Requirements(), entries, None, routes)
    assert choice.model == "b" and "route throughput" in choice.reason


def test_best_uses_benchmark_rank_then_the_most_expensive() -> None:
    entries = [entry("cheap", "0.0001", "0.0001"), entry("pricey", "0.01", "0.05"), entry("top")]
    ranked = Rankings(benchmark=(RankingEntry("top", 1, score=90.0),))
    choice = choose_model("best", Requirements(), entries, ranked)
    assert choice.candidates == ["top", "pricey", "cheap"] and "#1" in choice.reason
    fallback = choose_model("best", Requirements(), entries, None)
    assert fallback.model == "pricey" and "most expensive" in fallback.reason


@pytest.mark.parametrize(
    ("requirements", "capability"),
    [
        (Requirements(tools=True), "tools"),
        (Requirements(vision=True), "vision"),
        (Requirements(search=True), "web_search"),
        (Requirements(structured_output=True), "structured_output"),
        (Requirements(reasoning=True), "reasoning"),
    ],
)
def test_each_requirement_skips_models_lacking_it(
    requirements: Requirements, capability: str
) -> None:
    entries = [entry("cheap-but-lacking", "0.0001", "0.0001", ALL - {capability}), entry("full")]
    choice = choose_model("cheap", requirements, entries)
    assert choice.model == "full"
    assert choice.skipped == {"cheap-but-lacking": f"lacks {capability}"}
    assert capability in choice.reason


def test_unhealthy_routes_are_skipped_when_a_healthy_model_qualifies() -> None:
    entries = [entry("degraded", "0.0001", "0.0001"), entry("down", "0.0002"), entry("ok")]
    routes = [
        route("degraded", "degraded"),
        route("down", "incident"),
        route("ok", "healthy"),
    ]
    choice = choose_model("cheap", Requirements(), entries, None, routes)
    assert choice.model == "ok" and choice.candidates == ["ok"]
    assert choice.skipped == {"degraded": "route degraded", "down": "route incident"}
    assert "Skipped 2" in choice.reason


def test_a_model_with_one_healthy_route_among_several_counts_as_healthy() -> None:
    routes = [route("m", "degraded"), route("m", "healthy"), route("n", "degraded")]
    assert route_status(routes) == {"m": "healthy", "n": "degraded"}


def test_when_every_qualifying_route_is_unhealthy_the_choice_is_made_anyway() -> None:
    entries = [entry("a"), entry("b", "0.0001", "0.0001")]
    routes = [route("a", "degraded"), route("b", "incident")]
    choice = choose_model("cheap", Requirements(), entries, None, routes)
    assert choice.model == "b" and choice.skipped == {}
    assert "chosen anyway" in choice.reason


def test_only_chat_models_are_considered() -> None:
    entries = [entry("img", "0", "0", modality="image"), entry("chat", modality="vision")]
    assert choose_model("cheap", Requirements(), entries).candidates == ["chat"]
    with pytest.raises(UserError, match="no chat models"):
        choose_model("cheap", Requirements(), entries[:1])


def test_nothing_qualifies_names_the_requirement_that_excluded_everyone() -> None:
    entries = [entry("a", caps={"tools", "vision"}), entry("b", caps={"tools", "web_search"})]
    with pytest.raises(UserError, match="supports reasoning; drop that need"):
        choose_model("best", Requirements(tools=True, reasoning=True), entries)
    with pytest.raises(UserError, match="all of vision, web_search at once"):
        choose_model("best", Requirements(vision=True, search=True), entries)


def test_ties_are_deterministic_whatever_the_input_order() -> None:
    entries = [entry("b"), entry("c"), entry("a")]
    first = choose_model("cheap", Requirements(), entries)
    again = choose_model("cheap", Requirements(), list(reversed(entries)))
    assert first == again and first.candidates == ["a", "b", "c"]


def test_policies_parse_with_or_without_the_auto_prefix() -> None:
    assert parse_policy("auto:cheap") == "cheap" and parse_policy(" AUTO:Fast ") == "fast"
    assert parse_policy("best") == "best"
    assert is_auto("auto:best") and not is_auto("gpt-5.4")
    with pytest.raises(UserError, match="auto:cheap, auto:fast, auto:best"):
        parse_policy("auto:smart")


def test_requirements_name_catalog_capabilities() -> None:
    req = Requirements(search=True, tools=True, reasoning=True)
    assert req.capabilities == ("tools", "web_search", "reasoning")
    assert req.describe() == "chat model with tools, web_search and reasoning"
    assert Requirements().describe() == "chat model"

"""Automatic model choice (``auto:cheap``, ``auto:fast``, ``auto:best``), as pure functions.

Only chat models (``text`` and ``vision``) are considered. A model lacking a required
capability is skipped; so is one whose routes are all degraded or down, as long as a
qualifying model with a healthy (or unreported) route exists. The policies:

* ``cheap``: the lowest blended price per 1K tokens, blending input and output 3:1 (a
  typical chat request reads about three tokens for each one it writes). Unpriced
  models come last.
* ``fast``: the highest ``tokens_per_second`` of the speed ranking, then the lowest time
  to first token; models missing from it follow, by route throughput.
* ``best``: the best benchmark rank; models missing from it follow, most expensive
  first (price as the proxy of capability when there is no benchmark).

Ties are broken by model id, so the same inputs always give the same choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from alltoken_agent.errors import UserError
from alltoken_agent.money import format_price, per_million

if TYPE_CHECKING:  # annotations only: the agent reads `Requirements` before each turn,
    # and the catalog's entry types load with the catalog, not before chat's request
    from alltoken_agent.catalog.prices import ModelPrice
    from alltoken_agent.gateway import CatalogEntry, Rankings, RouteHealth

Policy = Literal["cheap", "fast", "best"]
POLICIES: tuple[Policy, ...] = get_args(Policy)
AUTO_PREFIX = "auto:"
_UNHEALTHY = ("degraded", "incident")
_INPUT_WEIGHT, _OUTPUT_WEIGHT = Decimal(3), Decimal(1)


@dataclass(frozen=True)
class Requirements:
    """Capabilities the chosen model must have."""

    tools: bool = False
    vision: bool = False
    search: bool = False
    """Web search (the catalog capability ``web_search``)."""
    structured_output: bool = False
    reasoning: bool = False

    @property
    def capabilities(self) -> tuple[str, ...]:
        """The required catalog capability names, in a fixed order."""
        names = {"search": "web_search"}
        return tuple(names.get(f.name, f.name) for f in fields(self) if getattr(self, f.name))

    def describe(self) -> str:
        """``chat model with tools and vision``, for sentences."""
        caps = self.capabilities
        if not caps:
            return "chat model"
        words = list(caps) if len(caps) < 3 else [", ".join(caps[:-1]), caps[-1]]
        return "chat model with " + " and ".join(words)


@dataclass(frozen=True)
class ModelChoice:
    """The outcome of an automatic choice, with its reasons."""

    model: str
    policy: Policy
    reason: str
    """Why this model, in one sentence or two."""
    candidates: list[str]
    """Every qualifying model, best first (``model`` is the first)."""
    skipped: dict[str, str]
    """Chat models left out, and why (``lacks vision``, ``route degraded``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "model": self.model,
            "policy": self.policy,
            "reason": self.reason,
            "candidates": list(self.candidates),
            "skipped": dict(self.skipped),
        }


def parse_policy(spec: str) -> Policy:
    """The policy of ``auto:cheap``, ``auto:fast`` or ``auto:best``.

    Raises:
        UserError: ``spec`` is not one of them.
    """
    name = spec.strip().lower().removeprefix(AUTO_PREFIX)
    for policy in POLICIES:
        if name == policy:
            return policy
    known = ", ".join(AUTO_PREFIX + p for p in POLICIES)
    raise UserError(f"unknown model policy {spec!r}; use one of {known}")


def is_auto(spec: str) -> bool:
    """Whether a model spec asks for an automatic choice (``auto:...``)."""
    return spec.strip().lower().startswith(AUTO_PREFIX)


def blended_price(price: ModelPrice | None) -> Decimal | None:
    """USD per 1K tokens, input and output blended 3:1; None without both prices."""
    if price is None or price.input_per_1k is None or price.output_per_1k is None:
        return None
    total = price.input_per_1k * _INPUT_WEIGHT + price.output_per_1k * _OUTPUT_WEIGHT
    return total / (_INPUT_WEIGHT + _OUTPUT_WEIGHT)


def route_status(routes: Iterable[RouteHealth]) -> dict[str, str]:
    """Each model's best route status: healthy if any route is, else degraded or incident."""
    order = {"healthy": 0, "unknown": 1, "degraded": 2, "incident": 3}
    best: dict[str, str] = {}
    for route in routes:
        seen = best.get(route.model)
        if seen is None or order[route.status] < order[seen]:
            best[route.model] = route.status
    return best


def choose_model(
    policy: Policy,
    requirements: Requirements,
    entries: Sequence[CatalogEntry],
    rankings: Rankings | None = None,
    routes: Sequence[RouteHealth] = (),
) -> ModelChoice:
    """Pick the chat model that best fits ``policy`` among those meeting ``requirements``.

    Raises:
        UserError: No chat model qualifies; the message names the requirement that
            excluded everyone.
    """
    if policy not in POLICIES:
        parse_policy(policy)  # raises the same message as a bad spec
    chat = sorted((e for e in entries if e.is_chat), key=lambda e: e.id)
    if not chat:
        raise UserError("the catalog lists no chat models to choose from")
    required = requirements.capabilities
    skipped: dict[str, str] = {}
    eligible = []
    for entry in chat:
        missing = [c for c in required if c not in entry.capabilities]
        if missing:
            skipped[entry.id] = "lacks " + ", ".join(missing)
        else:
            eligible.append(entry)
    if not eligible:
        raise UserError(_nobody_qualifies(required, chat))
    status = route_status(routes)
    healthy = [e for e in eligible if status.get(e.id) not in _UNHEALTHY]
    unhealthy_kept = not healthy
    if healthy:
        for entry in eligible:
            if status.get(entry.id) in _UNHEALTHY:
                skipped[entry.id] = f"route {status[entry.id]}"
        eligible = healthy
    ranked = _RANKERS[policy](eligible, rankings, routes)
    reason = _REASONS[policy](ranked[0], requirements, rankings, routes)
    dropped = sum(1 for why in skipped.values() if why.startswith("route "))
    if dropped:
        reason += f" Skipped {dropped} otherwise qualifying model(s) with unhealthy routes."
    if unhealthy_kept and any(status.get(e.id) in _UNHEALTHY for e in ranked):
        reason += " Every qualifying model's route is degraded or down; chosen anyway."
    return ModelChoice(
        model=ranked[0].id,
        policy=policy,
        reason=reason,
        candidates=[e.id for e in ranked],
        skipped=skipped,
    )


def _nobody_qualifies(required: tuple[str, ...], chat: Sequence[CatalogEntry]) -> str:
    nobody = [c for c in required if not any(c in e.capabilities for e in chat)]
    if nobody:
        return f"no chat model in the catalog supports {' or '.join(nobody)}; drop that need"
    return f"no chat model in the catalog has all of {', '.join(required)} at once"


# -- ranking ----------------------------------------------------------------------


def _rank_cheap(
    eligible: list[CatalogEntry], rankings: Rankings | None, routes: Sequence[RouteHealth]
) -> list[CatalogEntry]:
    def key(entry: CatalogEntry) -> tuple[bool, Decimal, str]:
        price = blended_price(entry.price)
        return (price is None, price or Decimal(0), entry.id)

    return sorted(eligible, key=key)


def _rank_fast(
    eligible: list[CatalogEntry], rankings: Rankings | None, routes: Sequence[RouteHealth]
) -> list[CatalogEntry]:
    speed = {row.model: row for row in (rankings.speed if rankings else ())}
    throughput = _route_throughput(routes)
    inf = float("inf")

    def key(entry: CatalogEntry) -> tuple[int, float, float, str]:
        row = speed.get(entry.id)
        if row is not None and row.tokens_per_second is not None:
            return (0, -row.tokens_per_second, row.ttft_ms or inf, entry.id)
        if entry.id in throughput:
            return (1, -throughput[entry.id], 0.0, entry.id)
        return (2, 0.0, 0.0, entry.id)

    return sorted(eligible, key=key)


def _rank_best(
    eligible: list[CatalogEntry], rankings: Rankings | None, routes: Sequence[RouteHealth]
) -> list[CatalogEntry]:
    bench = {row.model: row.rank for row in (rankings.benchmark if rankings else ())}

    def key(entry: CatalogEntry) -> tuple[int, Decimal, str]:
        if entry.id in bench:
            return (0, Decimal(bench[entry.id]), entry.id)
        price = blended_price(entry.price)
        return (1 if price is not None else 2, -(price or Decimal(0)), entry.id)

    return sorted(eligible, key=key)


def _route_throughput(routes: Sequence[RouteHealth]) -> dict[str, float]:
    best: dict[str, float] = {}
    for route in routes:
        if route.throughput_tps is not None:
            best[route.model] = max(best.get(route.model, 0.0), route.throughput_tps)
    return best


# -- reasons ------------------------------------------------------------------------


def _why_cheap(
    entry: CatalogEntry, req: Requirements, rankings: Rankings | None, routes: Sequence[RouteHealth]
) -> str:
    price = entry.price
    blend = blended_price(price)
    if blend is None or price is None:
        return f"{entry.id}: no {req.describe()} has a listed price; picked the first by id."
    return (
        f"{entry.id} is the cheapest {req.describe()}: {_per_1m(blend)} per 1M tokens "
        f"(3:1 input:output blend of {_per_1m(price.input_per_1k)} in, "
        f"{_per_1m(price.output_per_1k)} out)."
    )


def _why_fast(
    entry: CatalogEntry, req: Requirements, rankings: Rankings | None, routes: Sequence[RouteHealth]
) -> str:
    row = next((r for r in (rankings.speed if rankings else ()) if r.model == entry.id), None)
    if row is not None and row.tokens_per_second is not None:
        ttft = "" if row.ttft_ms is None else f", first token in {row.ttft_ms:g} ms"
        return (
            f"{entry.id} is the fastest {req.describe()} in the speed ranking: "
            f"{row.tokens_per_second:g} tokens/s{ttft}."
        )
    tps = _route_throughput(routes).get(entry.id)
    if tps is not None:
        return (
            f"{entry.id} has the highest route throughput of any {req.describe()} "
            f"({tps:g} tokens/s); the speed ranking lists none of them."
        )
    return f"{entry.id}: no speed data for any {req.describe()}; picked the first by id."


def _why_best(
    entry: CatalogEntry, req: Requirements, rankings: Rankings | None, routes: Sequence[RouteHealth]
) -> str:
    row = next((r for r in (rankings.benchmark if rankings else ()) if r.model == entry.id), None)
    if row is not None:
        score = "" if row.score is None else f", score {row.score:g}"
        return (
            f"{entry.id} has the best benchmark rank of any {req.describe()} (#{row.rank}{score})."
        )
    blend = blended_price(entry.price)
    if blend is not None:
        return (
            f"{entry.id}: no benchmark rank for any {req.describe()}; it is the most "
            f"expensive ({_per_1m(blend)} per 1M tokens, blended), taken as the most capable."
        )
    return f"{entry.id}: no benchmark or price data for any {req.describe()}; first by id."


def _per_1m(per_1k: Decimal | None) -> str:
    """A price kept per 1K tokens, shown per 1M as everywhere else (``money.py``)."""
    return format_price(per_million(per_1k))


_RANKERS = {"cheap": _rank_cheap, "fast": _rank_fast, "best": _rank_best}
_REASONS = {"cheap": _why_cheap, "fast": _why_fast, "best": _why_best}

"""Typed results of model lists and the public catalog (parsed by ``catalog_parse``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, fields
from decimal import Decimal
from typing import Any, Literal

from alltoken_agent.gateway.types import ModelPrice

CAPABILITIES = ("tools", "vision", "reasoning", "web_search", "structured_output")
"""The capability names a ``CatalogEntry`` may carry."""
RouteStatus = Literal["healthy", "degraded", "incident", "unknown"]


@dataclass(frozen=True)
class ModelInfo:
    """One entry of ``GET /models`` (§1.6 ModelInfo)."""

    id: str
    object: str = "model"
    """``model``, ``image``, ``video`` or ``audio``."""
    modality: str | None = None
    """``text``, ``vision`` (multimodal chat), ``image``, ``video``, ``audio``; when the
    gateway sends none, inferred from ``object`` or the modalities, else None."""
    owned_by: str | None = None
    display_name: str | None = None
    brand: str | None = None
    family: str | None = None
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    capabilities: Mapping[str, Any] | None = None
    """Video models only: ratios, resolutions, duration, features (UI hints)."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return _fields(self)


@dataclass(frozen=True)
class CatalogEntry:
    """One model of the public catalog, with its price and capabilities."""

    id: str
    name: str | None = None
    family: str | None = None
    modality: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    price: ModelPrice | None = None
    """USD per 1K tokens (chat), per image, per video second; None when unpriced."""
    capabilities: frozenset[str] = frozenset()
    """Some of ``CAPABILITIES``."""
    tags: tuple[str, ...] = ()
    _: KW_ONLY
    brand: str | None = None
    provider: str | None = None
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    description: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_chat(self) -> bool:
        """Whether this is a chat model (``text`` or ``vision``)."""
        return self.modality in ("text", "vision")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; prices stay decimal strings."""
        price = self.price
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "brand": self.brand,
            "provider": self.provider,
            "modality": self.modality,
            "context_length": self.context_length,
            "max_output_tokens": self.max_output_tokens,
            "price": None
            if price is None
            else {
                "input_per_1k": _text(price.input_per_1k),
                "output_per_1k": _text(price.output_per_1k),
                "per_image": _text(price.per_image),
                "per_video_second": _text(price.per_video_second),
                "currency": "USD",
            },
            "capabilities": sorted(self.capabilities),
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class RankingEntry:
    """One row of a leaderboard."""

    model: str
    rank: int
    """1 is best; the position in the list when the gateway sends no rank."""
    score: float | None = None
    tokens: int | None = None
    """Usage board: tokens served."""
    tokens_per_second: float | None = None
    """Speed board: output throughput."""
    ttft_ms: float | None = None
    """Speed board: time to first token."""


@dataclass(frozen=True)
class Rankings:
    """Leaderboards of ``/api-account/rankings/all`` (shape undocumented)."""

    usage: tuple[RankingEntry, ...] = ()
    speed: tuple[RankingEntry, ...] = ()
    benchmark: tuple[RankingEntry, ...] = ()
    category_leaders: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class HealthSummary:
    """``/api-account/health/summary`` (§1.6); None where the gateway said nothing."""

    total_routes: int | None = None
    healthy_routes: int | None = None
    degraded_routes: int | None = None
    incident_routes: int | None = None
    median_latency_ms: int | None = None
    overall_availability: float | None = None
    """Percent."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return _fields(self)


@dataclass(frozen=True)
class RouteHealth:
    """Health of one route (a model at one provider) over a time range."""

    model: str
    provider: str | None = None
    status: RouteStatus = "unknown"
    availability: float | None = None
    """Percent."""
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    throughput_tps: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return _fields(self)


@dataclass(frozen=True)
class ProviderInfo:
    """One upstream provider of ``/api-account/providers`` (shape undocumented)."""

    id: str
    name: str | None = None
    status: str | None = None
    models: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _fields(value: Any) -> dict[str, Any]:
    """Every field of a dataclass in its order, ``raw`` left out, tuples as lists."""
    out: dict[str, Any] = {}
    for spec in fields(value):
        if spec.name != "raw":
            item = getattr(value, spec.name)
            out[spec.name] = list(item) if isinstance(item, tuple) else item
    return out


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")

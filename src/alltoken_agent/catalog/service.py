"""``Catalog``: models, prices, rankings and health of one gateway, cached on disk.

Fresh answers come from the disk cache (see ``cache.py`` for the time-to-live of each).
When the gateway cannot be reached (connection error, timeout, or a 5xx after the
retries) and an older copy exists, that copy is returned and ``on_stale`` is told, so a
front end can say "using the catalog cached 3 h ago: gateway unreachable".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alltoken_agent.catalog.cache import CacheTTL, DiskCache, cache_key, default_cache_dir
from alltoken_agent.catalog.choice import ModelChoice, Requirements, choose_model, parse_policy
from alltoken_agent.catalog.prices import ModelPrice, PriceLookup, price_lookup
from alltoken_agent.config import PriceSettings
from alltoken_agent.errors import (
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    UpstreamError,
)
from alltoken_agent.gateway import (
    CatalogEntry,
    Gateway,
    HealthSummary,
    ModelFilters,
    ModelInfo,
    ProviderInfo,
    ProviderStats,
    Rankings,
    RouteHealth,
)
from alltoken_agent.gateway.catalog_api import (
    parse_catalog,
    parse_entry,
    parse_filters,
    parse_health,
    parse_models,
    parse_provider_stats,
    parse_providers,
    parse_rankings,
    parse_routes,
)

logger = logging.getLogger("alltoken_agent")

T = TypeVar("T")
_UNREACHABLE = (GatewayConnectionError, GatewayTimeoutError, UpstreamError)


@dataclass(frozen=True)
class StaleNotice:
    """Told to ``on_stale`` when a cached answer stands in for an unreachable gateway."""

    what: str
    """``catalog``, ``model list``, ``rankings``, ``health``, ``route health``, ..."""
    age: float
    """Seconds since the copy was saved."""
    error: GatewayError
    """Why the gateway could not answer."""

    @property
    def message(self) -> str:
        """``using the catalog cached 3 h ago: gateway unreachable (connection_error)``."""
        return (
            f"using the {self.what} cached {format_age(self.age)} ago: "
            f"gateway unreachable ({self.error.code})"
        )


def format_age(seconds: float) -> str:
    """``40 s``, ``12 min``, ``3 h``, ``2 d``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


class Catalog:
    """Models, prices, rankings and health of one gateway, with a disk cache.

    Example:
        ```python
        async with Gateway() as gateway:
            catalog = Catalog(gateway)
            choice = await catalog.choose("auto:cheap", Requirements(tools=True))
            print(choice.model, "-", choice.reason)
            lookup = await catalog.prices(load_config(app_dirs().config_file).prices)
        ```
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        cache_dir: Path | None = None,
        ttl: CacheTTL | None = None,
        on_stale: Callable[[StaleNotice], None] | None = None,
        use_cache: bool | None = None,
    ) -> None:
        """Bind to ``gateway``.

        Args:
            gateway: Where answers come from.
            cache_dir: Folder of the cache files; default ``app_dirs().cache / "catalog"``.
            ttl: Freshness of each kind of answer.
            on_stale: Told when a stale copy is used; default: a logged warning.
            use_cache: Default: on, except for an offline gateway (its simulator listens
                on a new port each run, so its answers would never be read again).
        """
        self.gateway = gateway
        self.ttl = ttl or CacheTTL()
        self.on_stale = on_stale
        if use_cache is None:
            use_cache = gateway.offline_simulator is None
        self._cache = DiskCache(cache_dir or default_cache_dir()) if use_cache else None

    async def models(self, modality: str | None = None, refresh: bool = False) -> list[ModelInfo]:
        """``GET /models`` (all modalities cached together), optionally one modality."""
        models = await self._cached(
            "models",
            "model list",
            self.ttl.models,
            self.gateway.models.list,
            lambda value: [m.raw for m in value],
            _list(parse_models),
            refresh,
        )
        return [m for m in models if modality is None or m.modality == modality]

    async def entries(self, refresh: bool = False, *, retry: bool = True) -> list[CatalogEntry]:
        """The public catalog: every model with price and capabilities.

        ``retry=False``: one attempt, for lookups the caller can do without.
        """
        return await self._cached(
            "catalog",
            "catalog",
            self.ttl.catalog,
            lambda: self.gateway.models.catalog(retry=retry),
            lambda value: [e.raw for e in value],
            _list(parse_catalog),
            refresh,
        )

    async def entry(self, model_id: str, refresh: bool = False) -> CatalogEntry:
        """One model of the public catalog (``NotFoundError`` when it has none)."""
        digest = hashlib.sha256(model_id.encode()).hexdigest()[:16]
        return await self._cached(
            f"model-{digest}",
            f"catalog entry of {model_id}",
            self.ttl.catalog,
            lambda: self.gateway.models.model(model_id),
            lambda value: value.raw,
            _entry_or_fail,
            refresh,
        )

    async def rankings(self, refresh: bool = False) -> Rankings:
        """Usage, speed and benchmark leaderboards."""
        return await self._cached(
            "rankings",
            "rankings",
            self.ttl.rankings,
            self.gateway.models.rankings,
            lambda value: value.raw,
            _mapping(parse_rankings),
            refresh,
        )

    async def health(self, refresh: bool = False) -> HealthSummary:
        """The route health summary."""
        return await self._cached(
            "health",
            "health summary",
            self.ttl.health,
            self.gateway.models.health,
            lambda value: value.raw,
            _mapping(parse_health),
            refresh,
        )

    async def routes(self, time_range: str = "24h", refresh: bool = False) -> list[RouteHealth]:
        """Health of every route over ``time_range``."""
        return await self._cached(
            f"routes-{time_range}",
            "route health",
            self.ttl.health,
            lambda: self.gateway.models.routes(time_range),
            lambda value: [r.raw for r in value],
            _list(parse_routes),
            refresh,
        )

    async def providers(self, refresh: bool = False) -> list[ProviderInfo]:
        """The upstream providers behind the gateway."""
        return await self._cached(
            "providers",
            "provider list",
            self.ttl.providers,
            self.gateway.models.providers,
            lambda value: [p.raw for p in value],
            _list(parse_providers),
            refresh,
        )

    async def filters(self, refresh: bool = False) -> ModelFilters:
        """The catalog's filter facets (brands, families, modalities, ...)."""
        return await self._cached(
            "filters",
            "model filters",
            self.ttl.catalog,
            self.gateway.models.filters,
            lambda value: value.raw,
            parse_filters,
            refresh,
        )

    async def provider_stats(self, provider_id: str, refresh: bool = False) -> ProviderStats:
        """Statistics of one upstream provider (``NotFoundError`` for an unknown id)."""
        digest = hashlib.sha256(provider_id.encode()).hexdigest()[:16]
        return await self._cached(
            f"provider-stats-{digest}",
            f"stats of provider {provider_id}",
            self.ttl.health,
            lambda: self.gateway.models.provider_stats(provider_id),
            lambda value: value.raw,
            _mapping(lambda data: parse_provider_stats(provider_id, data)),
            refresh,
        )

    async def prices(self, overrides: Mapping[str, PriceSettings] | None = None) -> PriceLookup:
        """Catalog prices with the config's ``[prices]`` on top.

        Never fails for want of a catalog: without one (a provider that has none, or an
        unreachable gateway and no cached copy) only the overrides price anything, and
        a warning is logged (an unknown price is a warning, not a failure).

        The catalog is asked once, without retries: this lookup comes before the
        caller's own request, which retries (and reports) an unreachable gateway
        itself. For the same reason a gateway that cannot be reached is logged at
        INFO, not as a warning: the request's error says it once.
        """
        known: dict[str, ModelPrice] = {}
        if self.gateway.models.public_base_url is not None:
            try:
                entries = await self.entries(retry=False)
            except (GatewayConnectionError, GatewayTimeoutError) as error:
                logger.info("no catalog prices (%s); using the config's [prices] only", error)
            except GatewayError as error:
                logger.warning("no catalog prices (%s); using the config's [prices] only", error)
            else:
                known = {e.id: e.price for e in entries if e.price is not None}
        return price_lookup(known, overrides or {})

    async def choose(self, spec: str, requirements: Requirements | None = None) -> ModelChoice:
        """Choose a model for ``auto:cheap``, ``auto:fast`` or ``auto:best``.

        Rankings and route health refine the choice when they can be had; without them
        the choice falls back as ``choose_model`` describes.

        Raises:
            UserError: Unknown policy, no public catalog, or no model qualifies.
        """
        policy = parse_policy(spec)
        entries = await self.entries()
        rankings = None if policy == "cheap" else await self._optional(self.rankings)
        routes = await self._optional(self.routes)
        return choose_model(policy, requirements or Requirements(), entries, rankings, routes or [])

    async def _optional(self, fetch: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await fetch()
        except GatewayError as error:
            logger.info("choosing without it: %s", error)
            return None

    async def _cached(
        self,
        endpoint: str,
        what: str,
        ttl: float,
        fetch: Callable[[], Awaitable[T]],
        dump: Callable[[T], Any],
        load: Callable[[Any], T],
        refresh: bool,
    ) -> T:
        cache = self._cache
        if cache is None:
            return await fetch()
        provider = self.gateway.provider
        key = cache_key(provider.name, self.gateway.base_url, endpoint)
        stored = cache.read(key)
        if stored is not None and not refresh and cache.age(stored) < ttl:
            fresh = _parse(load, stored.data)
            if fresh is not None:
                return fresh
        try:
            value = await fetch()
        except _UNREACHABLE as error:
            old = None if stored is None else _parse(load, stored.data)
            if stored is None or old is None:
                raise
            self._stale(StaleNotice(what=what, age=cache.age(stored), error=error))
            return old
        cache.write(key, dump(value))
        return value

    def _stale(self, notice: StaleNotice) -> None:
        if self.on_stale is None:
            logger.warning("%s", notice.message)
        else:
            self.on_stale(notice)


def _entry_or_fail(data: Any) -> CatalogEntry:
    entry = parse_entry(data)
    if entry is None:
        raise ValueError("not a catalog entry")
    return entry


def _list(parse: Callable[[Any], T]) -> Callable[[Any], T]:
    """``parse``, refusing a cached copy that is not a list (a damaged file)."""

    def load(data: Any) -> T:
        if not isinstance(data, list):
            raise ValueError("expected a list")
        return parse(data)

    return load


def _mapping(parse: Callable[[Any], T]) -> Callable[[Any], T]:
    """``parse``, refusing a cached copy that is not an object (a damaged file)."""

    def load(data: Any) -> T:
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        return parse(data)

    return load


def _parse(load: Callable[[Any], T], data: Any) -> T | None:
    """A cached copy parsed again, or None when it does not parse (ignored, not fatal)."""
    try:
        return load(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        logger.debug("ignoring a cached copy that does not parse: %s", exc)
        return None

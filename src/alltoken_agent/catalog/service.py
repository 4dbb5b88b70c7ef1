"""``Catalog``: models, prices, rankings and health of one gateway, cached on disk.

The one public API of the catalog: each answer is fetched by the gateway's one catalog
call (``gateway.catalog_api.get_json``), parsed by ``gateway.catalog_parse`` (or
``catalog_facets``) and kept in the disk cache, all by one path (``_cached``).

Fresh answers come from the disk cache (see ``cache.py`` for the time-to-live of each);
``use_cache=False`` asks the gateway every time. When the gateway cannot be reached
(connection error, timeout, or a 5xx after the retries) and an older copy exists, that
copy is returned and ``on_stale`` is told, so a front end can say "using the catalog
cached 3 h ago: gateway unreachable".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from alltoken_agent.catalog.cache import (
    CATALOG,
    CacheTTL,
    DiskCache,
    cache_key,
    default_cache_dir,
)
from alltoken_agent.catalog.choice import ModelChoice, Requirements, choose_model, parse_policy
from alltoken_agent.catalog.prices import ModelPrice, PriceLookup, price_lookup
from alltoken_agent.errors import (
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    UpstreamError,
    UserError,
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
from alltoken_agent.gateway.catalog_api import get_json
from alltoken_agent.gateway.catalog_facets import parse_filters, parse_provider_stats
from alltoken_agent.gateway.catalog_parse import (
    merge_models,
    parse_catalog,
    parse_entry,
    parse_health,
    parse_models,
    parse_providers,
    parse_rankings,
    parse_routes,
    unwrap,
)

if TYPE_CHECKING:  # annotations only: the config's models would load pydantic
    from alltoken_agent.config import PriceSettings

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


@dataclass(frozen=True)
class _Answer(Generic[T]):
    """One kind of catalog answer: its cache file, its name in a notice, how it parses."""

    name: str
    """The endpoint part of its cache file's name."""
    what: str
    """Its name in a ``StaleNotice``."""
    ttl: float
    parse: Callable[[Any], T]
    """The gateway's body, or the copy the cache kept of it, to the typed value."""
    shape: type[list[Any]] | type[dict[str, Any]] | None
    """The JSON type a kept copy has (another one is a damaged file); None: either."""


class Catalog:
    """Models, prices, rankings and health of one gateway, with a disk cache.

    Example:
        ```python
        async with Gateway() as gateway:
            catalog = Catalog(gateway)
            choice = await catalog.choose("auto:cheap", Requirements(tools=True))
            print(choice.model, "-", choice.reason)
            lookup = await catalog.prices(load_config(app_dirs().config_file).prices)
            filters = await Catalog(gateway, use_cache=False).filters()  # asked every time
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
        self._copies_simulated = False
        """Whether a cached copy this catalog answered with came from the simulator."""

    @property
    def simulated(self) -> bool:
        """Whether an answer given so far came from the simulator, now or when it was cached.

        Its figures (prices, health, rankings) are made up: a front end must say so.
        """
        return self.gateway.simulated or self._copies_simulated

    async def models(self, modality: str | None = None, refresh: bool = False) -> list[ModelInfo]:
        """``GET /models`` (sent with the key), optionally only one modality (filtered here).

        On AllToken, video models come from ``/videos/models`` when ``/models`` lists
        none (docs/wire-format.md §3 row 9: older gateways left them out; depend on
        neither). The cache keeps every modality together.
        """
        answer = _Answer("models", "model list", self.ttl.models, parse_models, list)
        videos = self._cache is not None or modality in (None, "video")
        models = await self._cached(answer, lambda: self._fetch_models(videos), refresh)
        return [m for m in models if modality is None or m.modality == modality]

    async def entries(self, refresh: bool = False, *, retry: bool = True) -> list[CatalogEntry]:
        """The public catalog (no key sent): every model with price and capabilities.

        ``retry=False`` makes one attempt, for lookups the caller can do without (an
        optional lookup must not add its own round of retries to a request's).
        """
        answer = _Answer(CATALOG, "catalog", self.ttl.catalog, parse_catalog, list)
        return await self._public(answer, "models", refresh, retry=retry)

    async def entry(self, model_id: str, refresh: bool = False) -> CatalogEntry:
        """One model of the public catalog (``NotFoundError`` when it has none)."""
        what = f"catalog entry of {model_id}"
        answer = _Answer(
            f"model-{_digest(model_id)}", what, self.ttl.catalog, _entry_of(model_id), dict
        )
        return await self._public(answer, f"models/{quote(model_id, safe='/')}", refresh)

    async def rankings(self, refresh: bool = False) -> Rankings:
        """Usage, speed and benchmark leaderboards."""
        answer = _Answer("rankings", "rankings", self.ttl.rankings, parse_rankings, dict)
        return await self._public(answer, "rankings/all", refresh)

    async def health(self, refresh: bool = False) -> HealthSummary:
        """Route health in one line: counts, median latency, availability."""
        answer = _Answer("health", "health summary", self.ttl.health, parse_health, dict)
        return await self._public(answer, "health/summary", refresh)

    async def routes(self, time_range: str = "24h", refresh: bool = False) -> list[RouteHealth]:
        """Health of every route over ``time_range`` (``1h``, ``24h``, ``7d``, ...)."""
        answer = _Answer(
            f"routes-{time_range}", "route health", self.ttl.health, parse_routes, list
        )
        params = {"time_range": time_range}
        return await self._public(answer, "health/routes", refresh, params=params)

    async def providers(self, refresh: bool = False) -> list[ProviderInfo]:
        """The upstream providers behind the gateway."""
        answer = _Answer("providers", "provider list", self.ttl.providers, parse_providers, list)
        return await self._public(answer, "providers", refresh)

    async def filters(self, refresh: bool = False) -> ModelFilters:
        """The catalog's filter facets (brands, families, modalities, ...; shape undocumented)."""
        answer = _Answer("filters", "model filters", self.ttl.catalog, parse_filters, None)
        return await self._public(answer, "models/filters", refresh)

    async def provider_stats(self, provider_id: str, refresh: bool = False) -> ProviderStats:
        """Statistics of one upstream provider (shape undocumented, docs/wire-format.md §1.6).

        Raises:
            UserError: No provider id.
            NotFoundError: The gateway knows no such provider.
        """
        if not provider_id or provider_id in (".", ".."):
            raise UserError("a provider id is needed, e.g. `openai` (see the providers list)")
        answer = _Answer(
            f"provider-stats-{_digest(provider_id)}",
            f"stats of provider {provider_id}",
            self.ttl.health,
            lambda data: parse_provider_stats(provider_id, data),
            dict,
        )
        # Quoted whole: an id with "/" must not reach another public path.
        return await self._public(answer, f"providers/{quote(provider_id, safe='')}/stats", refresh)

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
        if self.gateway.provider.public_base_url is not None:
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

    async def _fetch_models(self, videos: bool) -> list[ModelInfo]:
        models = parse_models(await get_json(self.gateway, "models"))
        if not videos or self.gateway.provider.dialect != "alltoken":
            return models
        if any(m.modality == "video" for m in models):
            return models
        try:
            extra = await get_json(self.gateway, "videos/models")
        except GatewayError:
            return models  # a supplement only: the main list already answered
        return merge_models(models, parse_models(extra, default_modality="video"))

    async def _public(
        self,
        answer: _Answer[T],
        path: str,
        refresh: bool,
        *,
        params: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> T:
        """``answer`` from ``path`` of the public catalog (no key sent), through the cache."""

        async def fetch() -> T:
            body = await get_json(self.gateway, path, params, public=True, retry=retry)
            return answer.parse(body)

        return await self._cached(answer, fetch, refresh)

    async def _cached(
        self, answer: _Answer[T], fetch: Callable[[], Awaitable[T]], refresh: bool
    ) -> T:
        cache = self._cache
        if cache is None:
            return await fetch()
        key = cache_key(self.gateway.provider.name, self.gateway.base_url, answer.name)
        stored = cache.read(key)
        if stored is not None and not refresh and cache.age(stored) < answer.ttl:
            fresh = _load(answer, stored.data)
            if fresh is not None:
                self._copies_simulated |= stored.simulated
                return fresh
        try:
            value = await fetch()
        except _UNREACHABLE as error:
            old = None if stored is None else _load(answer, stored.data)
            if stored is None or old is None:
                raise
            self._stale(StaleNotice(what=answer.what, age=cache.age(stored), error=error))
            self._copies_simulated |= stored.simulated
            return old
        cache.write(key, _raw(value), simulated=self.gateway.simulated)
        return value

    def _stale(self, notice: StaleNotice) -> None:
        if self.on_stale is None:
            logger.warning("%s", notice.message)
        else:
            self.on_stale(notice)


def _digest(text: str) -> str:
    """A fixed-length, file-name-safe stand-in for an id in a cache key."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _entry_of(model_id: str) -> Callable[[Any], CatalogEntry]:
    """Parse one model's answer, or the copy the cache kept (its entry, unwrapped)."""

    def parse(payload: Any) -> CatalogEntry:
        entry = parse_entry(unwrap(payload)) or parse_entry(payload)
        if entry is None:
            raise NotFoundError(f"the catalog has no model {model_id!r}", status=404)
        return entry

    return parse


def _raw(value: Any) -> Any:
    """What the cache keeps of a value: the gateway's own text of it (``raw``), parsed again."""
    if isinstance(value, list):
        return [item.raw for item in value]
    return value.raw


def _load(answer: _Answer[T], data: Any) -> T | None:
    """A kept copy parsed again, or None when it does not parse (ignored, not fatal)."""
    try:
        if answer.shape is not None and not isinstance(data, answer.shape):
            raise ValueError(f"expected a {answer.shape.__name__}")
        return answer.parse(data)
    # NotFoundError: a kept model entry without an id is a damaged file, not an answer.
    except (TypeError, ValueError, KeyError, AttributeError, NotFoundError) as exc:
        logger.debug("ignoring a cached copy that does not parse: %s", exc)
        return None

"""``gateway.models``: model lists and AllToken's public catalog (docs/wire-format.md §1.6).

Two sources:

* ``GET /models`` (Bearer): every OpenAI-compatible gateway has it.
* ``GET {public_base_url}/...`` (``/api-account``, no key): AllToken's catalog with
  prices and capabilities, rankings, providers and route health.

The bodies are parsed by ``catalog_parse`` (re-exported here, where callers have
always imported the ``parse_*`` functions from).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from alltoken_agent.errors import GatewayError, NotFoundError, UpstreamError, UserError
from alltoken_agent.gateway.catalog_facets import (
    ModelFilters,
    ProviderStats,
    parse_filters,
    parse_provider_stats,
)
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
from alltoken_agent.gateway.catalog_types import (
    CatalogEntry,
    HealthSummary,
    ModelInfo,
    ProviderInfo,
    Rankings,
    RouteHealth,
)

if TYPE_CHECKING:
    import httpx

    from alltoken_agent.gateway.client import Gateway

__all__ = [
    "ModelsAPI",
    "merge_models",
    "parse_catalog",
    "parse_entry",
    "parse_filters",
    "parse_health",
    "parse_models",
    "parse_provider_stats",
    "parse_providers",
    "parse_rankings",
    "parse_routes",
    "unwrap",
]


class ModelsAPI:
    """``gateway.models``: model lists and the public catalog of one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @property
    def public_base_url(self) -> str | None:
        """Where the public catalog lives, or None for a provider without one."""
        return self._gateway.provider.public_base_url

    async def list(self, modality: str | None = None) -> builtins.list[ModelInfo]:
        """``GET /models``, optionally only one modality (filtered here).

        On AllToken, video models come from ``/videos/models`` when ``/models`` lists
        none (§3 row 9: older gateways left them out; depend on neither).
        """
        models = parse_models(await self._json("models"))
        wants_video = modality in (None, "video")
        if wants_video and self._gateway.provider.dialect == "alltoken":
            if not any(m.modality == "video" for m in models):
                models = merge_models(models, await self._videos())
        return [m for m in models if modality is None or m.modality == modality]

    async def catalog(self, *, retry: bool = True) -> builtins.list[CatalogEntry]:
        """The public catalog (no key sent): every model with price and capabilities.

        ``retry=False`` makes one attempt (an optional lookup, such as prices before a
        request, must not add its own round of retries to the request's).
        """
        return parse_catalog(await self._public("models", retry=retry))

    async def model(self, model_id: str) -> CatalogEntry:
        """One model of the public catalog.

        Raises:
            NotFoundError: The catalog has no such model.
        """
        payload = await self._public(f"models/{quote(model_id, safe='/')}")
        entry = parse_entry(unwrap(payload))
        if entry is None:
            raise NotFoundError(f"the catalog has no model {model_id!r}", status=404)
        return entry

    async def rankings(self) -> Rankings:
        """Usage, speed and benchmark leaderboards."""
        return parse_rankings(await self._public("rankings/all"))

    async def health(self) -> HealthSummary:
        """Route health in one line: counts, median latency, availability."""
        return parse_health(await self._public("health/summary"))

    async def routes(self, time_range: str = "24h") -> builtins.list[RouteHealth]:
        """Health of every route over ``time_range`` (``1h``, ``24h``, ``7d``, ...)."""
        return parse_routes(await self._public("health/routes", {"time_range": time_range}))

    async def providers(self) -> builtins.list[ProviderInfo]:
        """The upstream providers behind the gateway."""
        return parse_providers(await self._public("providers"))

    async def filters(self) -> ModelFilters:
        """The catalog's filter facets (brands, families, modalities, ...; shape undocumented)."""
        return parse_filters(await self._public("models/filters"))

    async def provider_stats(self, provider_id: str) -> ProviderStats:
        """Statistics of one upstream provider (shape undocumented, §1.6).

        Raises:
            NotFoundError: The gateway knows no such provider.
        """
        if not provider_id or provider_id in (".", ".."):
            raise UserError("a provider id is needed, e.g. `openai` (see the providers list)")
        # Quoted whole: an id with "/" must not reach another public path.
        payload = await self._public(f"providers/{quote(provider_id, safe='')}/stats")
        return parse_provider_stats(provider_id, payload)

    async def _videos(self) -> builtins.list[ModelInfo]:
        try:
            return parse_models(await self._json("videos/models"), default_modality="video")
        except GatewayError:
            return []  # a supplement only: the main list already answered

    async def _public(
        self, path: str, params: Mapping[str, str] | None = None, *, retry: bool = True
    ) -> Any:
        base = self.public_base_url
        if base is None:
            name = self._gateway.provider.name
            raise UserError(
                f"the {name} provider has no public model catalog; `models` "
                "(GET /models) works, and the alltoken provider has prices, rankings and health"
            )
        return await self._json(f"{base}/{path}", params, auth=False, retry=retry)

    async def _json(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        auth: bool = True,
        retry: bool = True,
    ) -> Any:
        response = await self._gateway._get(url, params=params, auth=auth, retry=retry)
        return _decode(response)


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamError(
            f"GET {response.request.url.path} answered {response.status_code} with a body "
            "that is not JSON",
            status=response.status_code,
            code="malformed_response",
            request_id=response.headers.get("x-gateway-request-id"),
        ) from None

"""Context windows from the public catalog, read from its cached copy when that is fresh.

A long ``chat --session`` needs its model's window before it loads the history, and
an agent before it trims one. Both want one number per model; the catalog service
(its typed entries, choice, facets) takes about 20 ms to import, as long as a whole
request to an instant gateway. So a fresh copy in the cache is read here, with the
rules ``catalog_parse`` reads an entry's id and window by (``catalog_fields``), and
only a missing or stale copy goes through :class:`~alltoken_agent.catalog.Catalog`
(which fetches, caches and falls back to a stale copy as for any other answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from alltoken_agent.catalog.cache import CATALOG, CacheTTL, DiskCache, cache_key, default_cache_dir
from alltoken_agent.errors import GatewayError
from alltoken_agent.gateway.catalog_fields import context_length, entry_id

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway


async def context_lengths(gateway: Gateway) -> dict[str, int]:
    """Each catalog model's context window, by model id ({}: no catalog, or unreachable)."""
    if gateway.provider.public_base_url is None:
        return {}
    if gateway.offline_simulator is None:  # an offline gateway's catalog is never cached
        cache = DiskCache(default_cache_dir())
        stored = cache.read(cache_key(gateway.provider.name, gateway.base_url, CATALOG))
        # Fresh, and a list (else a damaged file, which Catalog ignores too).
        if (
            stored is not None
            and cache.age(stored) < CacheTTL().catalog
            and isinstance(stored.data, list)
        ):
            return _lengths(stored.data)
    from alltoken_agent.catalog import Catalog

    try:
        entries = await Catalog(gateway).entries()
    except GatewayError:
        return {}  # unknown: the request goes as it is, and the gateway will say
    return {e.id: e.context_length for e in entries if e.context_length}


async def context_length_of(
    gateway: Gateway, model: str, configured: Mapping[str, int]
) -> int | None:
    """``model``'s context window: the config's (``[context] lengths``), else the catalog's.

    What a long stored session is read up to (the newest turns that can fit), before an
    agent continues it; None when neither knows the model.
    """
    return configured.get(model) or (await context_lengths(gateway)).get(model)


def _lengths(items: list[Any]) -> dict[str, int]:
    lengths: dict[str, int] = {}
    for item in items:
        if isinstance(item, Mapping):
            model, window = entry_id(item), context_length(item)
            if model is not None and window:
                lengths[model] = window
    return lengths

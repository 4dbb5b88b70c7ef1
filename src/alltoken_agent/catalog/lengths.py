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
from pathlib import Path
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
        fresh = _fresh_lengths(cache, cache_key(gateway.provider.name, gateway.base_url, CATALOG))
        if fresh is not None:
            return fresh
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


_parsed: dict[Path, tuple[tuple[int, int], float, dict[str, int]]] = {}
"""Each cached catalog file's lengths as last parsed: its (mtime, size), saved_at, lengths."""


def _fresh_lengths(cache: DiskCache, key: str) -> dict[str, int] | None:
    """The lengths of the cached catalog when its copy is fresh; else None.

    A file is parsed once per change (a ``stat`` tells): each new agent on a long
    session asks, and a server makes one per message, so reading and parsing the whole
    catalog each time blocked its event loop for every such message.
    """
    path = cache.path(key)
    try:
        status = path.stat()
    except OSError:
        return None
    mark = (status.st_mtime_ns, status.st_size)
    known = _parsed.get(path)
    if known is None or known[0] != mark:
        stored = cache.read(key)
        if stored is None or not isinstance(stored.data, list):
            return None  # none, or a damaged file (which Catalog ignores too)
        known = _parsed[path] = (mark, stored.saved_at, _lengths(stored.data))
    _, saved_at, lengths = known
    if cache.clock() - saved_at >= CacheTTL().catalog:
        return None
    return dict(lengths)  # the caller's own: the kept one stays as parsed


def _lengths(items: list[Any]) -> dict[str, int]:
    lengths: dict[str, int] = {}
    for item in items:
        if isinstance(item, Mapping):
            model, window = entry_id(item), context_length(item)
            if model is not None and window:
                lengths[model] = window
    return lengths

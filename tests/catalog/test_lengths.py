"""Context windows from the catalog: a fresh cached copy is read without the service."""

from __future__ import annotations

import json
import os
from pathlib import Path

from alltoken_agent.catalog import CacheTTL, Catalog
from alltoken_agent.catalog.lengths import context_lengths
from tests.catalog.canned import canned
from tests.gateway.helpers import gateway_for

ENTRIES = [
    {"id": "m-1", "context_length": 131072},
    {"model": "m-2", "context_window": "32768"},  # the other names catalog_parse reads
    {"id": "m-3"},  # no window: left out
    {"context_length": 5},  # no id: not an entry
    "junk",
]


async def test_a_fresh_cached_catalog_gives_the_lengths_its_entries_give_with_no_request(
    isolated_environment: Path,
) -> None:
    with canned({"/api-account/models": (200, {"data": ENTRIES})}) as server:
        async with gateway_for(server) as gateway:
            entries = await Catalog(gateway).entries()  # fetched and cached
            lengths = await context_lengths(gateway)
        assert server.paths() == ["/api-account/models"]  # the lengths came from the cache
    assert lengths == {e.id: e.context_length for e in entries if e.context_length}
    assert lengths == {"m-1": 131072, "m-2": 32768}


async def test_a_cached_copy_is_parsed_once_while_its_file_is_unchanged(
    isolated_environment: Path,
) -> None:
    with canned({"/api-account/models": (200, {"data": ENTRIES})}) as server:
        async with gateway_for(server) as gateway:
            await Catalog(gateway).entries()
            assert (await context_lengths(gateway))["m-1"] == 131072
            (kept,) = (isolated_environment / "cache" / "catalog").glob("*-catalog.json")
            status = kept.stat()
            # Same size and time, other content: only a parse would see it.
            kept.write_text(kept.read_text().replace("131072", "131071"))
            os.utime(kept, ns=(status.st_atime_ns, status.st_mtime_ns))
            assert (await context_lengths(gateway))["m-1"] == 131072
            kept.write_text(kept.read_text() + " ")  # changed: read again
            assert (await context_lengths(gateway))["m-1"] == 131071
        assert server.paths() == ["/api-account/models"]


async def test_no_cached_copy_or_a_stale_one_is_fetched_through_the_catalog(
    isolated_environment: Path,
) -> None:
    with canned({"/api-account/models": (200, {"data": ENTRIES})}) as server:
        async with gateway_for(server) as gateway:
            assert await context_lengths(gateway) == {"m-1": 131072, "m-2": 32768}
            # Stale: the catalog's own copy is older than its TTL (an hour).
            await Catalog(gateway, ttl=CacheTTL(catalog=0)).entries(refresh=True)
            (kept,) = (isolated_environment / "cache" / "catalog").glob("*-catalog.json")
            data = json.loads(kept.read_text())
            data["saved_at"] -= CacheTTL().catalog + 1
            kept.write_text(json.dumps(data))
            assert await context_lengths(gateway) == {"m-1": 131072, "m-2": 32768}
        assert len(server.paths()) == 3


async def test_an_unreachable_catalog_gives_no_lengths(isolated_environment: Path) -> None:
    with canned({"/api-account/models": (503, {"error": {"message": "down"}})}) as server:
        async with gateway_for(server) as gateway:
            assert await context_lengths(gateway) == {}

"""The JSON disk cache: round trip, atomic writes, damaged files ignored."""

from __future__ import annotations

import json
from pathlib import Path

from alltoken_agent.catalog import DiskCache, cache_key


def test_round_trip_and_age(tmp_path: Path) -> None:
    now = [1000.0]
    cache = DiskCache(tmp_path / "catalog", clock=lambda: now[0])
    assert cache.read("k") is None
    cache.write("k", [{"id": "m", "price": "0.1"}])
    now[0] = 1042.5
    stored = cache.read("k")
    assert stored is not None and stored.data == [{"id": "m", "price": "0.1"}]
    assert cache.age(stored) == 42.5
    assert [p.name for p in (tmp_path / "catalog").iterdir()] == ["k.json"]  # no temp left


def test_a_copy_keeps_whether_the_simulator_gave_it(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.write("made-up", {"total_routes": 3}, simulated=True)
    cache.write("real", {"total_routes": 3})
    made_up, real = cache.read("made-up"), cache.read("real")
    assert made_up is not None and made_up.simulated
    assert real is not None and not real.simulated
    assert "simulated" not in json.loads(cache.path("real").read_text(encoding="utf-8"))


def test_a_damaged_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    for content in ("{not json", '"a string"', '{"format": 99, "saved_at": 1, "data": []}'):
        cache.path("k").write_text(content, encoding="utf-8")
        assert cache.read("k") is None
    cache.path("k").write_bytes(b"\xff\xfe")
    assert cache.read("k") is None


def test_a_failed_write_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = DiskCache(blocker / "catalog")  # a folder under a file cannot exist
    cache.write("k", {"a": 1})
    assert cache.read("k") is None


def test_an_overwrite_replaces_the_whole_file(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.write("k", {"long": "x" * 1000})
    cache.write("k", {"short": 1})
    assert json.loads(cache.path("k").read_text(encoding="utf-8"))["data"] == {"short": 1}


def test_keys_are_safe_file_names_and_differ_by_base_url() -> None:
    one = cache_key("my provider/x", "http://a/v1", "routes-24h")
    assert one.startswith("my_provider_x-") and one.endswith("-routes-24h")
    assert "/" not in one and " " not in one
    assert one != cache_key("my provider/x", "http://b/v1", "routes-24h")
    assert cache_key("p", "http://a/v1/", "e") == cache_key("p", "http://a/v1", "e")

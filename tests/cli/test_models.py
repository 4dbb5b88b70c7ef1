"""`alltoken-agent models` and `health` end to end: the CLI in-process, the simulator over
loopback (offline runs start their own; `--base-url` runs use the session simulator)."""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.simulator import SimulatorServer
from tests.cli.helpers import FAST_RETRY_CONFIG, ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY

KEY_ENV = {"ALLTOKEN_API_KEY": TEST_KEY}


def test_models_without_a_key_runs_offline_and_says_so() -> None:
    result = run_cli("models")
    assert result.exit_code == 0, result.stderr
    assert "offline simulator" in result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "MODALITY", "NAME", "BY"]
    assert any(row.split()[:2] == ["gpt-5.4-nano", "vision"] for row in rows)


def test_models_json_lists_every_modality_one_line_each() -> None:
    result = run_cli("models", "--offline", "--json")
    assert result.exit_code == 0 and result.stderr == ""
    events = ndjson(result.stdout)
    assert {e["event"] for e in events} == {"model"}
    assert {"text", "vision", "image", "video"} <= {e["modality"] for e in events}
    video = run_cli("models", "--offline", "--json", "--modality", "video")
    assert {e["modality"] for e in ndjson(video.stdout)} == {"video"}


def test_catalog_sorted_by_price_as_json() -> None:
    result = run_cli("models", "--offline", "--catalog", "--sort", "price", "--json")
    assert result.exit_code == 0, result.stderr
    events = ndjson(result.stdout)
    chat = [e for e in events if e["blended_per_1k"] is not None]
    blends = [Decimal(e["blended_per_1k"]) for e in chat]
    assert blends == sorted(blends) and chat[0]["id"] == "qwen3.6-flash"
    first = chat[0]
    assert first["price"]["input_per_1k"] == "0.00005" and "web_search" in first["capabilities"]
    media = events[len(chat) :]
    assert media and all(e["modality"] in ("image", "video") for e in media)


def test_catalog_sorted_by_speed_and_rank_as_text() -> None:
    args = ["models", "--offline", "--catalog", "--sort", "speed", "--modality", "text"]
    speed = run_cli(*args)
    assert speed.exit_code == 0, speed.stderr
    header, *rows = speed.stdout.splitlines()
    assert header.split()[-2:] == ["TOK/S", "CAPABILITIES"]
    events = ndjson(run_cli(*args, "--json").stdout)
    tps = [e["tokens_per_second"] for e in events]
    assert tps == sorted(tps, reverse=True) and {e["modality"] for e in events} == {"text"}
    assert [row.split()[0] for row in rows] == [e["id"] for e in events]
    assert f" {tps[0]:g} " in rows[0]
    rank = run_cli("models", "--offline", "--catalog", "--sort", "rank", "--json")
    ranks = [e["benchmark_rank"] for e in ndjson(rank.stdout) if e["benchmark_rank"]]
    assert ranks == list(range(1, len(ranks) + 1))


def test_models_show_one_model() -> None:
    result = run_cli("models", "show", "gpt-5.4", "--offline", "--json")
    assert result.exit_code == 0, result.stderr
    (event,) = ndjson(result.stdout)
    assert event["event"] == "model" and event["id"] == "gpt-5.4"
    assert event["price"]["input_per_1k"] == "0.0025" and event["context_length"] == 1050000
    text = run_cli("models", "show", "gpt-5.4", "--offline")
    assert "price" in text.stdout and "$2.50 / $15.00 per 1M" in text.stdout


def test_models_show_on_tokenhub_uses_the_model_list() -> None:
    result = run_cli("models", "show", "deepseek-v3.2", "--offline", "-p", "tokenhub", "--json")
    assert result.exit_code == 0, result.stderr
    assert ndjson(result.stdout)[0]["id"] == "deepseek-v3.2"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["models", "show", "no-such-model", "--offline"], "not_found (HTTP 404)"),
        (["models", "show", "no-such-model", "--offline", "-p", "tokenhub"], "lists no model"),
        (["models", "--offline", "-p", "tokenhub", "--catalog"], "no public model catalog"),
        (["health", "--offline", "-p", "tokenhub"], "no public model catalog"),
        (["models", "--offline", "--sort", "price"], "--sort needs --catalog"),
        (["models", "--offline", "--modality", "smell"], "smell"),
    ],
)
def test_bad_requests_exit_2_with_one_clear_line(args: list[str], needle: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert needle in result.stderr and "Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_health_summary_and_routes() -> None:
    result = run_cli("health", "--offline", "--routes", "--json")
    assert result.exit_code == 0, result.stderr
    summary, *routes = ndjson(result.stdout)
    assert summary["event"] == "health" and {r["event"] for r in routes} == {"route"}
    assert summary["total_routes"] == len(routes)
    # The simulator's figures are no check of a real gateway, and every line says so.
    assert summary["simulated"] is True and {r["simulated"] for r in routes} == {True}
    statuses = [r["status"] for r in routes]
    assert statuses[: summary["degraded_routes"]] == ["degraded"] * summary["degraded_routes"]
    assert {r["time_range"] for r in routes} == {"24h"}
    text = run_cli("health", "--offline")
    assert text.exit_code == 0 and text.stdout.startswith(f"{len(routes)} routes: ")
    assert "availability" in text.stdout and "MODEL" not in text.stdout
    table = run_cli("health", "--offline", "--routes", "--range", "7d")
    assert table.stdout.splitlines()[1].split()[0] == "MODEL"


def test_public_catalog_needs_no_key_but_the_model_list_does(sim: Any) -> None:
    catalog = run_cli("models", "--base-url", sim.base_url, "--catalog", "--json")
    assert catalog.exit_code == 0, catalog.stderr
    assert "offline" not in catalog.stderr and ndjson(catalog.stdout)
    assert {e["simulated"] for e in ndjson(catalog.stdout)} == {False}  # it plays a real one
    table = run_cli("models", "--base-url", sim.base_url, "--catalog")
    assert table.exit_code == 0 and "the simulator answered" not in table.stderr
    listing = run_cli("models", "--base-url", sim.base_url)
    assert listing.exit_code == 3 and "invalid_api_key" in listing.stderr
    assert sim.state.requests[-1].has_auth is False


@pytest.mark.slow
def test_a_stale_catalog_is_used_when_the_gateway_is_unreachable(
    isolated_environment: Path,
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    server = SimulatorServer("alltoken").start()
    url = server.base_url
    try:
        warm = run_cli("models", "--base-url", url, "--catalog", "--json", env=KEY_ENV)
        assert warm.exit_code == 0, warm.stderr
    finally:
        server.stop()
    (path,) = (isolated_environment / "cache" / "catalog").glob("alltoken-*-catalog.json")
    content = json.loads(path.read_text(encoding="utf-8"))
    content["saved_at"] -= 3 * 3600
    path.write_text(json.dumps(content), encoding="utf-8")
    stale = run_cli("models", "--base-url", url, "--catalog", "-v", env=KEY_ENV)
    assert stale.exit_code == 0, stale.stderr
    # Its copy came from a simulator: the table says so (the --json lines say `simulated`).
    assert "the simulator answered (X-Simulator): these figures are made up" in stale.stderr
    assert "the simulator answered" not in warm.stderr
    assert "using the catalog cached 3 h ago: gateway unreachable" in stale.stderr
    # The retries are told of with -v only.
    assert "retrying" in stale.stderr and "gpt-5.4-nano" in stale.stdout
    as_json = run_cli("models", "--base-url", url, "--catalog", "--json", env=KEY_ENV)
    events = ndjson(as_json.stdout)
    assert {e["event"] for e in events if e["event"] == "retry"} == {"retry"}  # --json: events
    events = [e for e in events if e["event"] != "retry"]
    notice = events[0]
    assert notice["event"] == "notice" and notice["stale"] is True
    assert events[1:] == ndjson(warm.stdout)
    # The simulator (labelling its replies) gave the copy: still said when it stands in.
    assert {e["simulated"] for e in events[1:]} == {True}
    never = run_cli("health", "--base-url", url, env=KEY_ENV)
    assert never.exit_code == 6 and "connection_error" in never.stderr


def test_unreachable_without_a_cache_exits_6(isolated_environment: Path) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    result = run_cli("models", "--base-url", url, "--json", env=KEY_ENV)
    assert result.exit_code == 6
    assert ndjson(result.stdout)[-1]["code"] == "connection_error"


def test_help_shows_examples() -> None:
    for args in (["models", "--help"], ["models", "show", "--help"], ["health", "--help"]):
        result = run_cli(*args)
        assert result.exit_code == 0 and "Examples:" in result.stdout
        assert "--offline" in result.stdout and "--json" in result.stdout


def test_models_filters_as_a_table_and_as_raw_json(sim: Any) -> None:
    table = run_cli("models", "filters", "--base-url", sim.base_url)
    assert table.exit_code == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["FACET", "VALUES"]
    brands = next(row for row in rows if row.startswith("brands "))
    assert "OpenAI" in brands and "Anthropic" in brands
    raw = run_cli("models", "filters", "--base-url", sim.base_url, "--json")
    assert raw.exit_code == 0, raw.stderr
    (event,) = ndjson(raw.stdout)
    assert event["event"] == "model_filters"
    assert "OpenAI" in event["data"]["brands"] and "capabilities" in event["data"]


def test_models_provider_stats_as_a_table_and_as_raw_json(sim: Any) -> None:
    table = run_cli("models", "provider-stats", "openai", "--base-url", sim.base_url)
    assert table.exit_code == 0, table.stderr
    fields = dict(line.split(maxsplit=1) for line in table.stdout.splitlines())
    assert fields["provider"] == "openai" and int(fields["requests_24h"]) > 0
    raw = run_cli("models", "provider-stats", "openai", "--base-url", sim.base_url, "--json")
    (event,) = ndjson(raw.stdout)
    assert event["event"] == "provider_stats" and event["provider"] == "openai"
    assert event["data"]["time_range"] == "24h" and "latency_p50_ms" in event["data"]


def test_models_provider_stats_of_an_unknown_provider_is_one_line_exit_2(sim: Any) -> None:
    result = run_cli("models", "provider-stats", "nobody", "--base-url", sim.base_url)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "not_found" in result.stderr


def test_models_filters_on_tokenhub_says_there_is_no_public_catalog() -> None:
    result = run_cli("models", "filters", "--offline", "--provider", "tokenhub")
    assert result.exit_code == 2
    assert "no public model catalog" in result.stderr


@pytest.mark.parametrize("args", [["filters"], ["provider-stats", "openai"]])
def test_filters_and_provider_stats_tell_of_retries_as_events_with_json(
    args: list[str], isolated_environment: Path
) -> None:
    # Every catalog command opens its catalog one way (cli/_catalog.py): with --json a
    # retry is an event, as for `models` and `health`, not a line on stderr.
    write_config(isolated_environment, "[retry]\nmax_retries = 2\nbase_delay = 0\nmax_delay = 0\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    result = run_cli("models", *args, "--base-url", dead, "--json", env=KEY_ENV)
    assert result.exit_code == 6, result.stderr
    events = ndjson(result.stdout)
    assert [e["attempt"] for e in events if e["event"] == "retry"] == [1, 2]
    assert events[-1]["event"] == "error" and "retrying" not in result.stderr

"""The usage file a host agent reads after `chat --usage-file FILE`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import RateLimitError, RequestRecord
from alltoken_agent.catalog import ModelPrice
from alltoken_agent.ledger import Ledger, usage_report, write_usage_report
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.ledger.helpers import gateway_cost, make_record

NANO = ModelPrice("gpt-5.4-nano", Decimal("0.0002"), Decimal("0.00125"))


async def test_a_run_with_gateway_estimated_and_failed_requests(sim: Any, tmp_path: Path) -> None:
    records: list[RequestRecord] = []
    sim.state.enqueue_faults(["slow:0", "slow:0", "429:0", "429:0", "429:0"])
    async with gateway_for(sim) as gateway:
        gateway.add_observer(records.append)
        await gateway.stream(user("hello there"), model="gpt-5.4-nano").collect()
        await gateway.chat(user("hello there"), model="gpt-5.4-nano")
        with pytest.raises(RateLimitError):
            await gateway.chat(user("hello there"), model="gpt-5.4-nano")
    path = tmp_path / "usage.json"
    error = {"code": "rate_limit_exceeded", "status": 429}
    returned = write_usage_report(
        path, records, status="error", error=error, prices={"gpt-5.4-nano": NANO}.get
    )
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report == returned
    assert (report["version"], report["status"], report["error"]) == (1, "error", error)
    streamed, plain, failed = report["requests"]
    assert records[0].cost is not None
    assert streamed["cost"] == format(records[0].cost.amount, "f")
    assert (streamed["cost_source"], plain["cost_source"]) == ("gateway", "estimated")
    assert (failed["cost"], failed["outcome"], failed["attempts"]) == (
        None,
        "rate_limit_exceeded",
        3,
    )
    totals = report["totals"]
    assert Decimal(totals["cost"]) == Decimal(streamed["cost"]) + Decimal(plain["cost"])
    assert totals["cost_source"] == "mixed"
    assert totals["cost_sources"] == {"gateway": 1, "estimated": 1, "unknown": 1}
    assert totals["requests"] == 3 and totals["unknown_cost_requests"] == 1
    assert totals["total_tokens"] == totals["prompt_tokens"] + totals["completion_tokens"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["usage.json"]  # no temporary left over
    assert TEST_KEY not in path.read_text(encoding="utf-8")


def test_the_file_is_replaced_whole_and_ledger_rows_work_too(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "usage.json"
    path.write_text("stale and longer than the new report " * 200, encoding="utf-8")
    row = ledger.record(make_record(cost=gateway_cost("0.0000188000"), tags={"session": "s"}))
    write_usage_report(path, [row], status="ok")
    report = json.loads(path.read_text(encoding="utf-8"))
    (line,) = report["requests"]
    assert (line["cost"], line["cost_source"], line["session"]) == ("0.0000188000", "gateway", "s")
    assert (
        report["totals"]["cost"] == "0.0000188000" and report["totals"]["cost_source"] == "gateway"
    )
    assert report["error"] is None


def test_an_empty_run_costs_zero_from_no_source() -> None:
    report = usage_report([], status="ok")
    assert report["totals"]["cost"] == "0" and report["totals"]["cost_source"] == "none"
    assert report["requests"] == []


def test_a_missing_folder_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_usage_report(tmp_path / "nope" / "usage.json", [], status="ok")
    assert list(tmp_path.iterdir()) == []


async def test_a_run_whose_every_cost_is_unknown_has_no_total_cost(
    th_sim: Any, tmp_path: Path
) -> None:
    """TokenHub sends no cost comment; with no price either, the total is unknown, not 0."""
    records: list[RequestRecord] = []
    async with gateway_for(th_sim, dialect="tokenhub") as gateway:
        gateway.add_observer(records.append)
        await gateway.stream(user("hello"), model="deepseek-v3.2").collect()
    report = write_usage_report(tmp_path / "usage.json", records, status="ok")
    assert report["totals"]["cost"] is None and report["totals"]["cost_source"] == "unknown"
    assert report["totals"]["unknown_cost_requests"] == 1 and report["totals"]["prompt_tokens"]
    priced = usage_report(
        records,
        status="ok",
        prices=lambda model: ModelPrice(model, Decimal("0.001"), Decimal("0.002")),
    )
    (line,) = priced["requests"]
    expected = (
        line["prompt_tokens"] * Decimal("0.001") + line["completion_tokens"] * Decimal("0.002")
    ) / 1000
    assert Decimal(priced["totals"]["cost"]) == expected
    assert priced["totals"]["cost_source"] == "estimated"

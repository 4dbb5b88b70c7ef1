"""`alltoken-agent usage`: the local ledger as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from alltoken_agent.cli.usage import render_rich
from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store
from tests.cli.helpers import run_cli
from tests.ledger.helpers import gateway_cost, make_record

NOW = datetime.now(timezone.utc)


@pytest.fixture
def recorded() -> None:
    """Four requests in the default store (under the test's ALLTOKEN_AGENT_HOME)."""
    with Store() as store:
        ledger = Ledger(store)
        ledger.record(
            make_record(started_at=NOW - timedelta(days=2), cost=gateway_cost("0.0100000000"))
        )
        ledger.record(
            make_record(
                started_at=NOW - timedelta(hours=1),
                cost=gateway_cost("0.0000188000"),
                tags={"session": "work"},
            )
        )
        ledger.record(
            make_record(started_at=NOW, model="mystery-1", cost=None, tags={"session": "work"})
        )
        ledger.record(make_record(started_at=NOW - timedelta(days=30), cost=gateway_cost("9")))


def test_piped_output_is_a_plain_table_with_totals(recorded: None) -> None:
    result = run_cli("usage")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Usage since ") and lines[0].endswith("by model")
    assert lines[1].split()[:2] == ["Model", "Requests"]
    nano = next(line for line in lines if line.startswith("gpt-5.4-nano"))
    assert nano.split()[1:4] == ["2", "20", "40"] and "$0.010019" in nano
    total = next(line for line in lines if line.startswith("Total"))
    assert total.split()[1] == "3" and "$0.010019" in total  # the 30-day-old one is outside 7d
    assert lines[-1] == "1 request with unknown cost (not in the totals)"
    mystery = next(line for line in lines if line.startswith("mystery-1"))
    assert mystery.split()[4:] == ["unknown", "1"]  # never a made-up $0.00
    assert "│" not in result.stdout and "\x1b[" not in result.stdout


def test_json_is_one_document_with_exact_costs(recorded: None) -> None:
    result = run_cli("usage", "--json", "--since", "60d", "--by", "session")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["by"] == "session" and document["currency"] == "USD"
    totals = document["totals"]
    assert totals["cost"] == "9.0100188000" and totals["requests"] == 4
    assert totals["unknown_cost_requests"] == 1
    rows = {row["key"]: row for row in document["rows"]}
    assert rows["work"]["cost"] == "0.0000188000" and rows["work"]["unknown_cost_requests"] == 1
    assert rows[None]["requests"] == 2
    by_model = json.loads(run_cli("usage", "--json", "--by", "model").stdout)
    mystery = next(row for row in by_model["rows"] if row["key"] == "mystery-1")
    assert mystery["cost"] is None and mystery["unknown_cost_requests"] == 1


def test_csv_has_a_header_and_one_line_per_group(recorded: None) -> None:
    result = run_cli("usage", "--csv", "--by", "day", "--since", "3d")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "day",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "unknown_cost_requests",
    ]
    assert [row["day"] for row in rows] == sorted(row["day"] for row in rows)
    # In the hour after midnight (UTC) the request of an hour ago is yesterday's, and
    # today's group holds only the one of unknown cost: its cost cell is empty, not 0.
    known = [row for row in rows if row["cost"] != ""]
    assert sum(Decimal(row["cost"]) for row in known) == Decimal("0.0100188000")
    assert all(r["unknown_cost_requests"] == r["requests"] for r in rows if r not in known)
    assert sum(int(row["unknown_cost_requests"]) for row in rows) == 1
    by_model = run_cli("usage", "--csv", "--by", "model", "--since", "3d")
    mystery = next(
        r for r in csv.DictReader(io.StringIO(by_model.stdout)) if r["model"] == "mystery-1"
    )
    assert mystery["cost"] == "" and mystery["unknown_cost_requests"] == "1"  # unknown, not 0
    assert sum(int(row["requests"]) for row in rows) == 3


def test_session_filter(recorded: None) -> None:
    result = run_cli("usage", "--json", "--session", "work")
    document = json.loads(result.stdout)
    assert document["session"] == "work" and document["totals"]["requests"] == 2


def test_an_empty_ledger_says_so() -> None:
    result = run_cli("usage")
    assert result.exit_code == 0
    assert "No requests recorded" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "yesterday"], "--since: cannot read 'yesterday'"),
        (["--since", "2999-01-01"], "in the future"),
        (["--by", "provider"], "--by 'provider' is not one of model, day, session"),
        (["--json", "--csv"], "choose one of --json and --csv"),
    ],
)
def test_bad_input_exits_2_with_a_clear_line(args: list[str], needle: str) -> None:
    result = run_cli("usage", *args)
    assert result.exit_code == 2
    assert needle in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_a_terminal_gets_a_rich_table_and_a_bar_per_day(recorded: None) -> None:
    with Store() as store:
        ledger = Ledger(store)
        since = NOW - timedelta(days=3)
        report, daily = ledger.report(since, "model"), ledger.report(since, "day")
    out = io.StringIO()
    render_rich(report, Console(file=out, force_terminal=True, width=110), daily=daily)
    text = out.getvalue()
    assert "gpt-5.4-nano" in text and "│" in text and "Total" in text
    assert "1 request with unknown cost" in text
    assert "Spend per day (UTC)" in text and "█" in text
    chart = text[text.index("Spend per day") :]
    # One row per day of the period, days without requests too, so gaps show.
    days = [(NOW - timedelta(days=n)).date().isoformat() for n in range(4)]
    assert all(day in chart for day in days)
    assert chart.count("$0.00\n") >= 1


@pytest.mark.slow
def test_image_and_video_commands_land_in_the_ledger_at_catalog_prices(
    tmp_path: Path,
) -> None:
    for kind in ("image", "video"):
        result = run_cli(kind, "--offline", "a red ball", "-o", str(tmp_path))
        assert result.exit_code == 0, result.stderr
    document = json.loads(run_cli("usage", "--simulated", "--json", "--since", "1h").stdout)
    rows = {row["key"]: row for row in document["rows"]}
    assert rows["gpt-image-2"]["requests"] == 1 and rows["seedance-1.5-pro"]["requests"] == 1
    # The simulator's catalog: gpt-image-2 at 0.04 per image, seedance-1.5-pro at 0.05 a
    # second for its default 5 s.
    assert Decimal(rows["gpt-image-2"]["cost"]) == Decimal("0.04")
    assert Decimal(rows["seedance-1.5-pro"]["cost"]) == Decimal("0.25")


@pytest.mark.slow
def test_offline_runs_are_kept_apart_from_the_real_report(recorded: None, tmp_path: Path) -> None:
    usage_file = tmp_path / "run.json"
    chat = run_cli("chat", "--offline", "--tools", "none", "--usage-file", str(usage_file), "hi")
    assert chat.exit_code == 0, chat.stderr
    assert json.loads(usage_file.read_text())["simulated"] is True

    real = run_cli("usage")
    assert real.exit_code == 0, real.stderr
    total = next(line for line in real.stdout.splitlines() if line.startswith("Total"))
    assert total.split()[1] == "3"  # the same three real requests as before the offline run
    assert "1 offline request to the simulator in this period not shown" in real.stderr
    assert "--simulated" in real.stderr

    offline = run_cli("usage", "--simulated")
    assert offline.exit_code == 0, offline.stderr
    assert offline.stdout.startswith("Simulated usage (offline runs, costs made up) since ")
    total = next(line for line in offline.stdout.splitlines() if line.startswith("Total"))
    assert total.split()[1] == "1" and offline.stderr == ""

    document = json.loads(run_cli("usage", "--simulated", "--json").stdout)
    assert document["simulated"] is True and document["totals"]["requests"] == 1
    # Machine-readable output carries no hint: stderr stays clean for scripts.
    assert run_cli("usage", "--json").stderr == ""

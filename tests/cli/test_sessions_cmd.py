"""`alltoken-agent sessions`: list, show, export, rename, rm, through the real entry point."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store
from tests.cli.helpers import ndjson, run_cli
from tests.gateway.helpers import TEST_KEY
from tests.ledger.helpers import make_record

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}


def _chat(sim: Any, *args: str) -> None:
    result = run_cli("chat", "--base-url", sim.base_url, *args, env=ENV)
    assert result.exit_code == 0, result.stderr


@pytest.mark.slow
def test_list_shows_title_model_turns_real_spend_and_last_used(sim: Any) -> None:
    _chat(sim, "--session", "work", "first note")
    _chat(sim, "--session", "work", "second note")
    rows = ndjson(run_cli("sessions", "list", "--json").stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["title"] == "work" and row["turns"] == 2 and row["messages"] == 4
    assert row["model"] and row["last_used"]
    # The simulator reports a cost per request (booked as real here): the spend is its sum.
    assert row["spend"] is not None and Decimal(row["spend"]) > 0
    table = run_cli("sessions")  # list is the default
    assert table.exit_code == 0
    line = next(text for text in table.stdout.splitlines() if text.startswith("work"))
    assert line.split()[2] == "2" and "$" in line


@pytest.mark.slow
def test_spend_is_unknown_not_zero_when_a_cost_is_unknown() -> None:
    with Store() as store:
        record, _ = store.sessions.get_or_create_session("mystery")
        store.sessions.append_messages(record.id, [{"role": "user", "content": "hi"}])
        Ledger(store).record(make_record(cost=None, tags={"session": "mystery"}))
    result = run_cli("sessions", "list", "--json")
    rows = ndjson(result.stdout)
    assert rows[0]["spend"] is None and rows[0]["unknown_cost_requests"] == 1
    line = run_cli("sessions").stdout.splitlines()[1]
    assert "unknown" in line and "$0" not in line


@pytest.mark.slow
def test_a_session_that_only_ran_offline_shows_its_simulated_spend_apart() -> None:
    chatted = run_cli("chat", "--offline", "--session", "trial", "hello")
    assert chatted.exit_code == 0, chatted.stderr
    row = ndjson(run_cli("sessions", "list", "--json").stdout)[0]
    assert row["spend"] is None and row["real_requests"] == 0
    assert row["simulated_spend"] is not None and Decimal(row["simulated_spend"]) > 0
    line = run_cli("sessions").stdout.splitlines()[1]
    assert "(sim)" in line and "unknown" not in line


def test_a_session_without_a_name_is_titled_by_its_first_prompt() -> None:
    prompt = "Please summarise the quarterly report for the board meeting next week"
    with Store() as store:
        record = store.sessions.create_session()
        store.sessions.append_messages(record.id, [{"role": "user", "content": prompt}])
    row = ndjson(run_cli("sessions", "list", "--json").stdout)[0]
    assert row["title"].endswith("...") and prompt.startswith(row["title"][:-3])
    assert len(row["title"]) <= 48


@pytest.mark.slow
def test_show_and_export_markdown_and_json(sim: Any, tmp_path: Path) -> None:
    _chat(sim, "--session", "notes", "--system", "Be brief.", "the build is on Fridays")
    shown = run_cli("sessions", "show", "notes")
    assert shown.exit_code == 0
    assert "## User\n\nthe build is on Fridays" in shown.stdout and "## Assistant" in shown.stdout
    out = tmp_path / "notes.json"
    exported = run_cli("sessions", "export", "notes", "--format", "json", "-o", str(out))
    assert exported.exit_code == 0, exported.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    roles = [m["role"] for m in document["messages"]]
    assert roles == ["system", "user", "assistant"]  # the chat request's shape
    assert document["messages"][0]["content"] == "Be brief."
    assert document["session"]["name"] == "notes" and document["model"]
    by_id = run_cli("sessions", "export", document["session"]["id"], "--format", "md")
    assert by_id.stdout.startswith("# notes\n") and "the build is on Fridays" in by_id.stdout


@pytest.mark.slow
def test_rename_keeps_messages_and_refuses_a_taken_name(sim: Any) -> None:
    _chat(sim, "--session", "old", "hello")
    _chat(sim, "--session", "taken", "hello")
    clash = run_cli("sessions", "rename", "old", "taken")
    assert clash.exit_code == 2 and "already exists" in clash.stderr
    assert run_cli("sessions", "rename", "old", "new").exit_code == 0
    assert "hello" in run_cli("sessions", "show", "new").stdout
    renamed = next(
        r for r in ndjson(run_cli("sessions", "list", "--json").stdout) if r["name"] == "new"
    )
    assert renamed["spend"] is not None  # the ledger's spend follows the new name
    missing = run_cli("sessions", "show", "old")
    assert missing.exit_code == 2 and "sessions" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_rm_needs_yes_without_a_terminal(sim: Any) -> None:
    _chat(sim, "--session", "gone", "hello")
    refused = run_cli("sessions", "rm", "gone")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    assert run_cli("sessions", "show", "gone").exit_code == 0  # still there
    assert run_cli("sessions", "rm", "gone", "--yes").exit_code == 0
    assert run_cli("sessions", "show", "gone").exit_code == 2
    assert run_cli("sessions", "rm", "gone", "--yes").exit_code == 2


@pytest.mark.slow
def test_continue_picks_the_most_recently_used_conversation(sim: Any) -> None:
    _chat(sim, "--session", "older", "about trains")
    _chat(sim, "--session", "newer", "about boats")
    result = run_cli("chat", "--base-url", sim.base_url, "-c", "and sails?", env=ENV)
    assert result.exit_code == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "continuing" in line]
    assert len(notices) == 1 and "'newer'" in notices[0]
    sent = sim.state.requests[-1].json["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == ["about boats", "and sails?"]
    rows = ndjson(run_cli("sessions", "list", "--json").stdout)
    assert rows[0]["name"] == "newer" and rows[0]["turns"] == 2


def test_continue_with_nothing_to_continue_or_with_session_is_a_usage_error(sim: Any) -> None:
    nothing = run_cli("chat", "--base-url", sim.base_url, "--continue", "hi", env=ENV)
    assert nothing.exit_code == 2 and "no conversation to continue" in nothing.stderr
    assert not sim.state.requests  # nothing sent
    _chat(sim, "--session", "one", "hello")
    sent = len(sim.state.requests)
    both = run_cli("chat", "--base-url", sim.base_url, "-c", "--session", "one", "hi", env=ENV)
    assert both.exit_code == 2 and "not both" in both.stderr
    assert len(sim.state.requests) == sent


@pytest.mark.slow
def test_a_new_session_name_says_it_starts_a_new_conversation(sim: Any) -> None:
    first = run_cli("chat", "--base-url", sim.base_url, "--session", "fresh", "hi", env=ENV)
    assert first.exit_code == 0
    notices = [line for line in first.stderr.splitlines() if "new conversation" in line]
    assert notices == ["alltoken-agent: no session named 'fresh' yet; starting a new conversation"]
    again = run_cli("chat", "--base-url", sim.base_url, "--session", "fresh", "hi", env=ENV)
    assert again.exit_code == 0 and "new conversation" not in again.stderr

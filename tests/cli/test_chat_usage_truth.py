"""`chat` through the CLI: unknown usage and invalid costs stay unknown in every output.

The runs reach the session simulator by `--base-url` (it plays a real gateway, so the
rows land in the real book that `usage` reads), with faults queued for the next request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.gateway.accounting import USAGE_MISSING
from tests.cli.helpers import ndjson, run_cli
from tests.gateway.helpers import TEST_KEY

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}


def _chat(sim: Any, fault: str, *args: str) -> Any:
    sim.state.enqueue_faults([fault])
    return run_cli("chat", "--base-url", sim.base_url, "--tools", "none", *args, "hi", env=ENV)


def _notice_lines(stderr: str) -> list[str]:
    return [
        line for line in stderr.splitlines() if "recorded as unknown" in line or "[DONE]" in line
    ]


def test_a_reply_without_usage_and_done_is_unknown_in_json_usage_file_and_ledger(
    sim: Any, tmp_path: Path
) -> None:
    usage_file = tmp_path / "run.json"
    result = _chat(sim, "no_usage_done", "--json", "--usage-file", str(usage_file))
    assert result.exit_code == 0, result.stderr  # the text is complete: finish_reason came
    events = ndjson(result.stdout)
    notices = [e for e in events if e["event"] == "notice"]
    assert notices == [
        {"event": "notice", "message": USAGE_MISSING.message, "code": "usage_missing"}
    ]
    done = events[-1]
    assert done["event"] == "done" and "simulated" in done["text"].lower()
    assert done["usage"] is None and done["cost"] is None
    assert not [e for e in events if e["event"] in ("usage", "cost")]
    assert _notice_lines(result.stderr) == [f"alltoken-agent: {USAGE_MISSING.message}"]

    report = json.loads(usage_file.read_text())
    (line,) = report["requests"]
    assert (line["prompt_tokens"], line["completion_tokens"], line["cost"]) == (None, None, None)
    assert line["cost_source"] == "unknown" and report["totals"]["cost"] is None
    assert report["totals"]["prompt_tokens"] is None  # no usage known: no sum, not 0
    assert report["totals"]["unknown_usage_requests"] == 1
    assert line["extra"]["usage_unknown"] == "usage_missing"

    ledger = json.loads(run_cli("usage", "--json").stdout)
    assert ledger["totals"]["requests"] == 1
    assert ledger["totals"]["unknown_cost_requests"] == 1 and ledger["totals"]["cost"] is None
    assert ledger["totals"]["unknown_usage_requests"] == 1
    assert ledger["totals"]["prompt_tokens"] is None  # unknown, not 0
    assert ledger["rows"][0]["completion_tokens"] is None
    table = run_cli("usage").stdout
    total = next(line for line in table.splitlines() if line.startswith("Total"))
    assert total.split()[1:] == ["1", "unknown", "unknown", "unknown", "1"]


def test_plain_output_prints_the_answer_and_one_stderr_line(sim: Any) -> None:
    result = _chat(sim, "no_usage_done")
    assert result.exit_code == 0
    assert "simulated" in result.stdout.lower()
    assert _notice_lines(result.stderr) == [f"alltoken-agent: {USAGE_MISSING.message}"]
    assert "error" not in result.stderr


def test_a_reply_with_neither_finish_nor_done_is_still_an_error(sim: Any) -> None:
    result = _chat(sim, "eof:2")
    assert result.exit_code == 6
    assert "stream_interrupted" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("value", ["-1", "NaN", "Infinity", "1e999999999", '"lots"', "null"])
def test_an_invalid_cost_is_a_notice_and_unknown_in_the_ledger(sim: Any, value: str) -> None:
    result = _chat(sim, f"bad_cost:{value}", "--json")
    assert result.exit_code == 0, result.stderr
    events = ndjson(result.stdout)
    assert [e["code"] for e in events if e["event"] == "notice"] == ["cost_invalid"]
    done = events[-1]
    assert done["cost"] is None and done["usage"]["prompt_tokens"] > 0
    (line,) = _notice_lines(result.stderr)
    assert "invalid cost" in line
    ledger = json.loads(run_cli("usage", "--json").stdout)
    assert ledger["totals"]["cost"] is None and ledger["totals"]["unknown_cost_requests"] == 1
    table = run_cli("usage")
    assert "unknown" in table.stdout and "-$" not in table.stdout


@pytest.mark.parametrize("spec", ["prompt_tokens=-5", "completion_tokens=1.5", 'total_tokens="x"'])
def test_an_invalid_usage_is_a_notice_and_null_usage(sim: Any, spec: str) -> None:
    result = _chat(sim, f"bad_usage:{spec}", "--json")
    assert result.exit_code == 0, result.stderr
    events = ndjson(result.stdout)
    assert [e["code"] for e in events if e["event"] == "notice"] == ["usage_invalid"]
    assert events[-1]["usage"] is None and events[-1]["cost"] is not None
    (line,) = _notice_lines(result.stderr)
    assert "invalid usage" in line


def test_the_cost_bound_is_a_config_key(sim: Any, isolated_environment: Path) -> None:
    set_result = run_cli("config", "set", "ledger.max_request_cost_usd", "0.000000001")
    assert set_result.exit_code == 0, set_result.stderr
    args = ["chat", "--base-url", sim.base_url, "--tools", "none", "--json", "hi"]
    result = run_cli(*args, env=ENV)  # no fault: the simulator's own cost is above the bound
    assert result.exit_code == 0
    notices = [e for e in ndjson(result.stdout) if e["event"] == "notice"]
    assert [n["code"] for n in notices] == ["cost_invalid"]
    assert "max_request_cost_usd" in notices[0]["message"]

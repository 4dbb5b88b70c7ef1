"""`alltoken-agent chat` end to end: the CLI in-process, the simulator over loopback."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import FAST_RETRY_CONFIG, ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY


@pytest.mark.slow
def test_without_a_key_it_runs_offline_and_says_so() -> None:
    result = run_cli("chat", "hello there")
    assert result.exit_code == 0, result.stderr
    assert "simulated" in result.stdout.lower()
    assert "ALLTOKEN_API_KEY" in result.stderr and "offline simulator" in result.stderr
    assert result.stdout.endswith("\n")


@pytest.mark.slow
def test_offline_flag_is_quiet_and_json_lines_all_parse() -> None:
    result = run_cli("chat", "--offline", "--json", "hello there")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    events = ndjson(result.stdout)
    names = [e["event"] for e in events]
    assert names[:3] == ["message:user", "thinking:start", "stream:start"]
    assert names[-6:] == [
        "stream:end",
        "usage",
        "cost",
        "message:assistant",
        "thinking:end",
        "done",
    ]
    assert "stream:delta" in names
    done = events[-1]
    deltas = "".join(e["delta"] for e in events if e["event"] == "stream:delta")
    assert done["text"] == deltas and "simulated" in deltas.lower()
    assert done["model"] == "minimax-m2.7" and done["request_id"]
    assert done["usage"]["total_tokens"] > 0 and done["cost"]["cost"].startswith("0.")
    assert events[0]["content"] == "hello there"
    assert all("accumulated" not in e for e in events)  # NDJSON stays linear in size


@pytest.mark.slow
def test_prompt_from_stdin_and_system_prompt() -> None:
    result = run_cli("chat", "--offline", "--json", "-s", "Be brief.", input="piped words\n")
    assert result.exit_code == 0, result.stderr
    assert ndjson(result.stdout)[0]["content"] == "piped words\n"


@pytest.mark.slow
def test_thinking_goes_to_stderr_not_stdout() -> None:
    result = run_cli("chat", "--offline", "--thinking", "think first")
    assert result.exit_code == 0
    assert "reasoning" in result.stderr.lower()
    assert "reasoning" not in result.stdout.lower()


@pytest.mark.slow
def test_tokenhub_provider_offline_has_no_cost_event() -> None:
    result = run_cli("chat", "--offline", "--provider", "tokenhub", "--json", "hi")
    assert result.exit_code == 0, result.stderr
    names = [e["event"] for e in ndjson(result.stdout)]
    assert "cost" not in names and names[-1] == "done"
    assert ndjson(result.stdout)[-1]["model"] == "deepseek-v3.2"


@pytest.mark.slow
def test_max_tokens_cuts_the_reply_and_says_so() -> None:
    result = run_cli("chat", "--offline", "--max-tokens", "3", "hello there")
    assert result.exit_code == 0
    assert "cut off" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["chat", "--offline", "--temperature", "5", "hi"], "temperature"),
        (["chat", "--offline", "--max-tokens", "0", "hi"], "max-tokens"),
        (["chat", "--offline"], "prompt is empty"),
        (["chat", "--offline", "--provider", "nope", "hi"], "unknown provider 'nope'"),
        (["chat", "--provider", "openai", "hi"], "no base URL"),
        (["chat", "--offline", "-m", "no-such-model", "hi"], "upstream_model_not_found"),
        (["chat", "--offline", "--tools", "nope", "hi"], "unknown tool"),
        (["chat", "--offline", "--max-steps", "0", "hi"], "max-steps"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args: list[str], needle: str) -> None:
    result = run_cli(*args, input="")
    assert result.exit_code == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_config_file_exits_2(isolated_environment: Path) -> None:
    write_config(isolated_environment, "[timeouts]\nread = 'soon'\n")
    result = run_cli("chat", "--offline", "hi")
    assert result.exit_code == 2 and "timeouts.read" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("faults", "code", "needle"),
    [
        (["401"], 3, "invalid_api_key"),
        (["403"], 3, "forbidden"),
        (["402"], 4, "HTTP 402"),
        (["400"], 2, "invalid_request"),
        (["429:0", "429:0"], 5, "HTTP 429"),
        (["503", "503"], 6, "all_providers_failed"),
        (["500", "500"], 6, "HTTP 500"),
        (["html502", "html502"], 6, "http_502"),
        (["disconnect:3"], 6, "stream_interrupted"),
        (["malformed:2"], 6, "malformed_chunk"),
        (["eof:2"], 6, "stream_interrupted"),
        (["stall:2:2"], 6, "stream_timeout"),
    ],
)
def test_gateway_failures_map_to_exit_codes(
    sim: Any, isolated_environment: Path, faults: list[str], code: int, needle: str
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG + "[timeouts]\nread = 0.5\n")
    sim.state.enqueue_faults(faults)
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "hello there", env=env)
    assert result.exit_code == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0]
    assert "request_id=" in lines[0]
    json_run_faults = faults
    sim.state.enqueue_faults(json_run_faults)
    json_result = run_cli("chat", "--base-url", sim.base_url, "--json", "hi", env=env)
    assert json_result.exit_code == code
    error = ndjson(json_result.stdout)[-1]
    assert error["event"] == "error" and error["request_id"]


@pytest.mark.slow
def test_no_response_in_time_after_retries_exits_6_naming_the_code(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG + "[timeouts]\nread = 0.5\n")
    sim.state.enqueue_faults(["slow:2", "slow:2"])
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "hello there", env=env)
    assert result.exit_code == 6, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "timeout: no answer" in lines[0] and "2 attempts" in lines[0]
    assert len([r for r in sim.state.requests if r.path.endswith("/chat/completions")]) == 2
    assert result.stdout == ""


def test_unreachable_gateway_exits_6_with_a_connection_error(isolated_environment: Path) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = run_cli("chat", "--base-url", url, "hi", env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert result.exit_code == 6, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "connection_error: cannot reach" in lines[0]
    assert "Traceback" not in result.stderr


def test_retries_are_reported_as_events(sim: Any, isolated_environment: Path) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    sim.state.enqueue_faults(["503"])
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "--json", "hi", env=env)
    assert result.exit_code == 0
    retry = [e for e in ndjson(result.stdout) if e["event"] == "retry"]
    assert retry and retry[0]["status"] == 503 and retry[0]["attempt"] == 1
    sim.state.enqueue_faults(["503"])
    plain = run_cli("chat", "--base-url", sim.base_url, "hi", env=env)
    assert plain.exit_code == 0 and "retrying" not in plain.stderr  # only with -v
    sim.state.enqueue_faults(["503"])
    verbose = run_cli("chat", "-v", "--base-url", sim.base_url, "hi", env=env)
    assert verbose.exit_code == 0 and "retrying" in verbose.stderr


def test_version_and_help() -> None:
    version = run_cli("--version")
    assert version.exit_code == 0 and version.stdout.startswith("alltoken-agent ")
    helped = run_cli("chat", "--help")
    assert helped.exit_code == 0 and "Examples:" in helped.stdout and "--offline" in helped.stdout


def test_tool_events_in_json_and_the_answer_uses_the_result() -> None:
    result = run_cli("chat", "--offline", "--json", "What time is it in Tokyo?")
    assert result.exit_code == 0, result.stderr
    events = ndjson(result.stdout)
    call = next(e for e in events if e["event"] == "tool:call")
    assert call["tool_name"] == "get_current_time" and call["arguments"] == {
        "timezone": "Asia/Tokyo"
    }
    tool_result = next(e for e in events if e["event"] == "tool:result")
    assert "Asia/Tokyo" in tool_result["result"] and tool_result["is_error"] is False
    done = events[-1]
    seen = json.loads(tool_result["result"])
    assert seen["timezone"] == "Asia/Tokyo" and seen["time"] in done["text"]
    assert done["steps"] == 2
    assert done["tool_calls"][0]["name"] == "get_current_time"


def test_tools_none_sends_no_tools(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "--tools", "none", "What is 2+2?", env=env)
    assert result.exit_code == 0
    assert "tools" not in sim.state.requests[-1].json


def test_max_steps_hit_is_a_clear_failure() -> None:
    prompt = (
        '[[call calculate {"expression": "1"}]] [[then]] [[call calculate {"expression": "2"}]]'
    )
    result = run_cli("chat", "--offline", "--max-steps", "1", prompt)
    assert result.exit_code == 1
    assert "max_steps_exceeded" in result.stderr


@pytest.mark.slow
def test_session_keeps_history_between_runs(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    first = run_cli("chat", "--base-url", sim.base_url, "--session", "work", "first note", env=env)
    assert first.exit_code == 0, first.stderr
    second = run_cli("chat", "--base-url", sim.base_url, "--session", "work", "second", env=env)
    assert second.exit_code == 0
    sent = sim.state.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "first note"
    other = run_cli("chat", "--base-url", sim.base_url, "--session", "other", "hi", env=env)
    assert other.exit_code == 0
    assert len(sim.state.requests[-1].json["messages"]) == 2


@pytest.mark.slow
def test_session_keeps_completed_steps_when_a_later_step_fails(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    # "slow:0" lets the first request through; the second (after the tool ran) fails.
    sim.state.enqueue_faults(["slow:0", "401"])
    prompt = '[[call calculate {"expression": "2+2"}]]'
    failed = run_cli("chat", "--base-url", sim.base_url, "--session", "s", prompt, env=env)
    assert failed.exit_code == 3
    again = run_cli("chat", "--base-url", sim.base_url, "--session", "s", "go on", env=env)
    assert again.exit_code == 0
    sent = sim.state.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "user"]
    assert json.loads(sent[3]["content"]) == {"expression": "2+2", "result": 4}


def test_usage_file_is_written_on_success_and_on_failure(sim: Any, tmp_path: Path) -> None:
    import json as jsonlib

    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    ok_file = tmp_path / "ok.json"
    ok = run_cli(
        "chat", "--base-url", sim.base_url, "--usage-file", str(ok_file), "What is 2+3?", env=env
    )
    assert ok.exit_code == 0
    report = jsonlib.loads(ok_file.read_text())
    assert report["status"] == "ok"
    assert report["totals"]["requests"] == 2
    assert TEST_KEY not in ok_file.read_text()
    sim.state.enqueue_faults(["401"])
    bad_file = tmp_path / "bad.json"
    bad = run_cli("chat", "--base-url", sim.base_url, "--usage-file", str(bad_file), "hi", env=env)
    assert bad.exit_code == 3
    failed = jsonlib.loads(bad_file.read_text())
    assert failed["status"] == "error" and failed["error"]["code"] == "invalid_api_key"
    assert failed["error"]["exit_code"] == 3


def test_chat_requests_land_in_the_ledger_with_the_session(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "--session", "ledgered", "hi", env=env)
    assert result.exit_code == 0
    report = run_cli("usage", "--by", "session", "--json")
    assert report.exit_code == 0, report.stderr
    assert "ledgered" in report.stdout


@pytest.mark.slow
def test_daily_budget_from_config_stops_with_exit_7(isolated_environment: Path) -> None:
    import json as jsonlib

    first = run_cli("chat", "--offline", "--tools", "none", "hi")
    assert first.exit_code == 0
    spent = jsonlib.loads(run_cli("usage", "--simulated", "--json").stdout)["totals"]["cost"]
    write_config(isolated_environment, f'[budget]\ndaily_usd = "{spent}"\n')
    second = run_cli("chat", "--offline", "--tools", "none", "hi again")
    assert second.exit_code == 7
    assert "daily budget" in second.stderr and "not sent" in second.stderr


def test_budget_flag_refuses_a_request_whose_estimate_crosses_it(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    args = ["chat", "--base-url", sim.base_url, "--budget", "0.0000001", "What is 2+3?"]
    result = run_cli(*args, env=env)
    assert result.exit_code == 7 and "agent budget" in result.stderr
    assert not [r for r in sim.state.requests if r.path.endswith("/chat/completions")]


@pytest.mark.slow
def test_a_closed_stdout_pipe_exits_quietly_and_still_records_the_request() -> None:
    import json as jsonlib
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, like `| head -c 0`
    try:
        process = subprocess.run(
            [sys.executable, "-m", "alltoken_agent", "chat", "--offline", "--tools", "none", "hi"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert process.returncode == 1
    assert process.stderr == ""  # no "could not record the usage", no traceback
    report = jsonlib.loads(run_cli("usage", "--simulated", "--json").stdout)
    assert report["totals"]["requests"] == 1

"""`alltoken-agent probe` against both simulator dialects over loopback."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.cli.helpers import ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY


def checks(stdout: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in ndjson(stdout) if e["event"] == "check"}


def test_probe_alltoken_finds_tools_usage_and_the_cost_comment(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    result = run_cli("probe", sim.base_url, "--json")
    assert result.exit_code == 0, result.stderr
    found = checks(result.stdout)
    assert {name: c["status"] for name, c in found.items()} == {
        "models": "ok",
        "streaming": "ok",
        "tool_calls": "ok",
        "usage": "ok",
        "cost_comment": "ok",
        "reasoning": "missing",
        "request_id": "ok",
        "timing": "ok",
    }
    assert found["tool_calls"]["detail"].startswith('get_current_time({"timezone": ')
    assert "USD" in found["cost_comment"]["detail"]
    summary = ndjson(result.stdout)[-1]
    assert summary["event"] == "probe" and summary["answered"] is True
    assert summary["model"] == "gpt-5.4-nano"  # the first chat model listed
    chat = sim.state.requests[-1]
    assert chat.has_auth and chat.json["tools"][0]["function"]["name"] == "get_current_time"
    assert chat.json["stream"] is True and "thinking" not in chat.json
    assert TEST_KEY not in result.stdout + result.stderr


def test_probe_tokenhub_reports_the_cost_comment_missing(
    th_sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    result = run_cli("probe", th_sim.base_url, "--model", "deepseek-v3.2")
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[2:]}
    assert rows["cost_comment"] == "missing" and rows["tool_calls"] == "ok"
    assert rows["usage"] == "ok" and rows["streaming"] == "ok"
    assert result.stdout.startswith(f"probe {th_sim.base_url} (model deepseek-v3.2)")
    assert th_sim.state.requests[-1].json["model"] == "deepseek-v3.2"


def test_probe_thinking_finds_reasoning_deltas(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_KEY", TEST_KEY)
    result = run_cli("probe", sim.base_url, "--thinking", "--api-key-env", "PROBE_KEY", "--json")
    assert result.exit_code == 0, result.stderr
    reasoning = checks(result.stdout)["reasoning"]
    assert reasoning["status"] == "ok" and "deltas" in reasoning["detail"]
    assert sim.state.requests[-1].json["thinking"] is True


def test_probe_reports_a_failed_chat_but_exits_0_when_models_answered(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    result = run_cli("probe", sim.base_url, "--model", "no-such-model", "--json")
    assert result.exit_code == 0
    found = checks(result.stdout)
    assert found["models"]["status"] == "ok" and found["streaming"]["status"] == "failed"
    assert "upstream_model_not_found" in found["streaming"]["detail"]
    assert found["usage"]["status"] == "skipped"


@pytest.mark.parametrize(
    ("model", "streaming"), [(["--model", "gpt-5.4"], "failed"), ([], "skipped")]
)
def test_probe_with_a_refused_key_exits_3(sim: Any, model: list[str], streaming: str) -> None:
    result = run_cli("probe", sim.base_url, "--json", *model)  # no OPENAI_API_KEY: no key
    assert result.exit_code == 3
    found = checks(result.stdout)
    assert found["models"]["status"] == "failed" and found["streaming"]["status"] == streaming
    assert ndjson(result.stdout)[-1]["event"] == "error"
    assert "invalid_api_key" in result.stderr
    assert all(not r.has_auth for r in sim.state.requests)


def test_probe_of_an_unreachable_endpoint_exits_6() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    result = run_cli("probe", url, "--model", "m")
    assert result.exit_code == 6
    assert "connection_error" in result.stderr and "failed" in result.stdout


def test_probe_with_an_unset_key_variable_exits_2(sim: Any) -> None:
    result = run_cli("probe", sim.base_url, "--api-key-env", "NOT_SET_ANYWHERE")
    assert result.exit_code == 2 and "NOT_SET_ANYWHERE" in result.stderr
    assert sim.state.requests == []


@pytest.mark.slow
def test_probe_offline_and_help() -> None:
    result = run_cli("probe", "--offline", "--provider", "tokenhub", "--json")
    assert result.exit_code == 0, result.stderr
    assert checks(result.stdout)["cost_comment"]["status"] == "missing"
    helped = run_cli("probe", "--help")
    assert helped.exit_code == 0 and "Examples:" in helped.stdout
    assert "--api-key-env" in helped.stdout


def _local_provider(home: Any, base_url: str) -> None:
    write_config(
        home, f'[providers.local]\nbase_url = "{base_url}/"\napi_key_env = "LOCAL_GATEWAY_KEY"\n'
    )


def test_probe_url_of_a_known_provider_uses_that_providers_key(
    sim: Any, monkeypatch: pytest.MonkeyPatch, isolated_environment: Any
) -> None:
    _local_provider(isolated_environment, sim.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("LOCAL_GATEWAY_KEY", TEST_KEY)
    result = run_cli("probe", sim.base_url.upper().replace("/V1", "/v1"), "--json")
    assert result.exit_code == 0, result.stderr
    assert checks(result.stdout)["models"]["status"] == "ok"
    assert sim.state.requests and all(r.has_auth for r in sim.state.requests)
    assert TEST_KEY not in result.stdout + result.stderr


def test_probe_never_sends_another_services_key_to_a_known_provider(
    sim: Any, monkeypatch: pytest.MonkeyPatch, isolated_environment: Any
) -> None:
    _local_provider(isolated_environment, sim.base_url)
    monkeypatch.delenv("LOCAL_GATEWAY_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    result = run_cli("probe", sim.base_url, "--json")
    assert result.exit_code == 3  # the simulator refuses a request with no key
    assert sim.state.requests and not any(r.has_auth for r in sim.state.requests)
    # --api-key-env still picks any variable.
    monkeypatch.setenv("MY_KEY", TEST_KEY)
    chosen = run_cli("probe", sim.base_url, "--api-key-env", "MY_KEY", "--json")
    assert chosen.exit_code == 0 and sim.state.requests[-1].has_auth

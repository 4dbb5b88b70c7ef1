"""A mistyped model: close catalog ids and `alltoken-agent models`, not the raw API path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alltoken_agent.cli._did_you_mean import close_models
from tests.cli.helpers import ndjson, run_cli
from tests.gateway.helpers import TEST_KEY


def test_chat_with_a_mistyped_model_suggests_close_catalog_ids(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "-m", "gpt-5.4-nanno", "hi", env=env)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: upstream_model_not_found")
    assert "did you mean gpt-5.4-nano" in lines[0]
    assert "`alltoken-agent models`" in lines[0] and "GET /v1/models" not in lines[0]
    assert "[request_id=" in lines[0]  # the gateway's id stays


def test_the_json_error_event_carries_the_suggestions(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    args = ("chat", "--base-url", sim.base_url, "-m", "deepseek-v4-flsh", "--json", "hi")
    result = run_cli(*args, env=env)
    assert result.exit_code == 2
    error = [e for e in ndjson(result.stdout) if e["event"] == "error"][-1]
    assert error["code"] == "upstream_model_not_found"
    assert "did you mean deepseek-v4-flash" in error["message"]


def test_a_name_nothing_resembles_names_the_models_command_alone(sim: Any) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "-m", "zzzz", "hi", env=env)
    assert result.exit_code == 2
    assert "did you mean" not in result.stderr
    assert "`alltoken-agent models` lists the models" in result.stderr


def test_close_models_is_case_insensitive_and_knows_vendor_prefixes() -> None:
    ids = ["openai/gpt-5.4-nano", "deepseek-v4-flash", "minimax-m2.7"]
    assert close_models("DeepSeek-V4-Flash", ids) == ["deepseek-v4-flash"]
    assert close_models("gpt-5.4-nano", ids) == ["openai/gpt-5.4-nano"]
    assert close_models("qqqq", ids) == []


def _config_model(home: Path) -> str:
    return (home / "config" / "config.toml").read_text(encoding="utf-8")


def test_config_set_model_warns_with_suggestions_from_the_cached_catalog(
    sim: Any, isolated_environment: Path
) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY, "ALLTOKEN_AGENT_BASE_URL": sim.base_url}
    # Nothing cached yet: nothing is checked, and nothing is claimed.
    quiet = run_cli("config", "set", "model", "gpt-5.4-nanno", env=env)
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
    listed = run_cli("models", "--json", env=env)  # fills the catalog cache
    assert listed.exit_code == 0, listed.stderr
    served = sim.state.requests[:]
    warned = run_cli("config", "set", "model", "gpt-5.4-nanno", env=env)
    assert warned.exit_code == 0  # still written: the catalog may be out of date
    assert 'model = "gpt-5.4-nanno"' in _config_model(isolated_environment)
    assert "warning: model 'gpt-5.4-nanno' is not in the catalog" in warned.stderr
    assert "did you mean gpt-5.4-nano" in warned.stderr
    assert "`alltoken-agent models`" in warned.stderr
    assert sim.state.requests == served  # the cache only: no request, works offline
    known = run_cli("config", "set", "model", "gpt-5.4-nano", env=env)
    assert known.exit_code == 0 and "warning" not in known.stderr

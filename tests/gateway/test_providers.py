from __future__ import annotations

from pathlib import Path

import pytest

from alltoken_agent import ConfigError, load_config
from alltoken_agent.gateway import resolve


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_pick_alltoken_and_its_key_variable() -> None:
    resolved = resolve(environ={"ALLTOKEN_API_KEY": "k-123456"})
    assert resolved.provider.name == "alltoken"
    assert resolved.provider.base_url == "https://api.alltoken.ai/v1"
    assert resolved.api_key is not None and resolved.api_key.get_secret_value() == "k-123456"
    assert "k-123456" not in repr(resolved)
    assert resolved.model == "minimax-m2.7"


def test_flag_beats_env_beats_config_beats_default(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path / "c.toml", 'provider = "tokenhub"\nmodel = "from-config"\n')
    )
    assert resolve(config=config, environ={}).provider.name == "tokenhub"
    assert resolve(config=config, environ={}).model == "from-config"
    env = {"ALLTOKEN_AGENT_PROVIDER": "alltoken", "ALLTOKEN_AGENT_MODEL": "from-env"}
    assert resolve(config=config, environ=env).provider.name == "alltoken"
    assert resolve(config=config, environ=env).model == "from-env"
    flags = resolve(provider="tokenhub", model="from-flag", config=config, environ=env)
    assert (flags.provider.name, flags.model) == ("tokenhub", "from-flag")


def test_base_url_overrides_any_profile() -> None:
    resolved = resolve(provider="tokenhub", base_url="http://127.0.0.1:9/v1/", environ={})
    assert resolved.provider.base_url == "http://127.0.0.1:9/v1"
    assert resolved.base_url_overridden


def test_user_defined_provider_and_override_of_a_builtin(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path / "c.toml",
            '[providers.local]\nbase_url = "http://127.0.0.1:11434/v1"\nrequires_key = false\n'
            'default_model = "llama3.2"\n\n[providers.alltoken]\ndefault_model = "glm-5.1"\n',
        )
    )
    local = resolve(provider="local", config=config, environ={})
    assert local.provider.base_url == "http://127.0.0.1:11434/v1"
    assert not local.missing_key and local.model == "llama3.2"
    alltoken = resolve(config=config, environ={})
    assert alltoken.model == "glm-5.1"
    assert alltoken.provider.base_url == "https://api.alltoken.ai/v1"
    assert alltoken.missing_key


def test_unknown_provider_and_missing_base_url_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        resolve(provider="nope", environ={})
    with pytest.raises(ConfigError, match="no base URL"):
        resolve(provider="openai", environ={})


def test_bad_config_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write_config(tmp_path / "a.toml", "provider = "))
    with pytest.raises(ConfigError, match="timeouts.read"):
        load_config(write_config(tmp_path / "b.toml", "[timeouts]\nread = -1\n"))
    with pytest.raises(ConfigError, match="colour"):
        load_config(write_config(tmp_path / "c.toml", 'colour = "red"\n'))
    assert load_config(tmp_path / "missing.toml").provider is None


def test_tokenhub_profile_carries_its_contract_attempt_bound() -> None:
    # docs/wire-format.md §2.5: "max 3 attempts"; AllToken states no bound.
    assert resolve(provider="tokenhub", environ={}).provider.max_attempts == 3
    assert resolve(provider="alltoken", environ={}).provider.max_attempts is None

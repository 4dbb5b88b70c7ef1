"""`alltoken-agent config`: show, init, set and path, on the test's own ALLTOKEN_AGENT_HOME."""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from alltoken_agent import Config, load_config
from alltoken_agent.cli._config_view import TEMPLATE
from tests.cli.helpers import run_cli, write_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECRETS = ("sk-live-123", "server-key-456", "pg-pass-789", "header-token-abc", "env-secret-def")


def config_file(home: Path) -> Path:
    return home / "config" / "config.toml"


def test_path_prints_the_file_under_the_home(isolated_environment: Path) -> None:
    result = run_cli("config", "path")
    assert result.exit_code == 0
    assert result.stdout == f"{config_file(isolated_environment)}\n"


def test_show_without_a_file_lists_the_defaults_and_the_providers() -> None:
    result = run_cli("config", "show")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "(not there yet: built-in defaults apply)" in out
    assert re.search(r'provider\s+"alltoken"\s+default', out)
    assert re.search(r'model\s+"minimax-m2.7"\s+default \(provider alltoken\)', out)
    assert re.search(r"timeouts\.read\s+60\.0\s+default", out)
    assert re.search(
        r"\* alltoken\s+https://api\.alltoken\.ai/v1\s+ALLTOKEN_API_KEY\s+not set", out
    )
    assert re.search(r"tokenhub\s+https://tokenhub\.link/v1\s+TOKENHUB_API_KEY\s+not set", out)
    assert run_cli("config").stdout == out  # no command: show


def test_show_says_where_each_value_comes_from(
    isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        isolated_environment,
        'provider = "tokenhub"\n[timeouts]\nread = 5.0\n[providers.local]\n'
        'base_url = "http://127.0.0.1:11434/v1"\nrequires_key = false\n',
    )
    monkeypatch.setenv("ALLTOKEN_AGENT_MODEL", "from-env")
    monkeypatch.setenv("TOKENHUB_API_KEY", SECRETS[0])
    out = run_cli("config", "show").stdout
    assert re.search(r'provider\s+"tokenhub"\s+file', out)
    assert re.search(r'model\s+"from-env"\s+env ALLTOKEN_AGENT_MODEL', out)
    assert re.search(r"timeouts\.read\s+5\.0\s+file", out)
    assert re.search(r"timeouts\.connect\s+10\.0\s+default", out)
    assert re.search(r"\* tokenhub .* TOKENHUB_API_KEY\s+set\s", out)
    assert re.search(r"local\s+http://127\.0\.0\.1:11434/v1\s+-\s+not needed\s.*\sfile", out)
    assert SECRETS[0] not in out


def test_show_never_prints_a_secret(
    isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        isolated_environment,
        f'[server]\nkeys = ["{SECRETS[1]}"]\n'
        f'store_url = "postgresql://agent:{SECRETS[2]}@db/agent"\n'
        f'[mcp_servers.search]\nurl = "https://u:{SECRETS[2]}@mcp.example.com/mcp?t={SECRETS[3]}"\n'
        f'headers = {{Authorization = "Bearer {SECRETS[3]}"}}\n'
        f'[mcp_servers.files]\ncommand = "npx"\nenv = {{TOKEN = "{SECRETS[4]}"}}\n',
    )
    monkeypatch.setenv("ALLTOKEN_API_KEY", SECRETS[0])
    monkeypatch.setenv("ALLTOKEN_AGENT_SERVER_KEYS", SECRETS[1])
    monkeypatch.setenv("ALLTOKEN_AGENT_BASE_URL", f"https://u:{SECRETS[2]}@gw.example/v1")
    for args in (["config", "show"], ["config", "show", "--json"]):
        result = run_cli(*args)
        assert result.exit_code == 0, result.stderr
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr
    view = json.loads(run_cli("config", "show", "--json").stdout)
    assert view["settings"]["server.keys"] == {
        "value": "<hidden>",
        "source": "env ALLTOKEN_AGENT_SERVER_KEYS",
    }
    assert view["settings"]["server.store_url"]["value"] == "<hidden>"
    assert view["providers"][0]["key"] == "set"
    assert {s["name"]: s["target"] for s in view["mcp_servers"]} == {
        "search": "https://mcp.example.com/mcp",
        "files": "npx",
    }
    assert view["environment"]["ALLTOKEN_AGENT_SERVER_KEYS"] == "set"
    assert view["environment"]["ALLTOKEN_AGENT_BASE_URL"] == "https://gw.example/v1"


def test_show_reports_a_broken_file_and_exits_2(isolated_environment: Path) -> None:
    write_config(isolated_environment, "[timeouts\nread = 1\n")
    result = run_cli("config", "show")
    assert result.exit_code == 2
    assert "not valid TOML" in result.stderr and result.stdout == ""


def test_init_writes_a_template_that_changes_nothing(isolated_environment: Path) -> None:
    result = run_cli("config", "init")
    assert result.exit_code == 0, result.stderr
    target = config_file(isolated_environment)
    assert result.stdout == f"wrote {target}\n"
    assert target.read_text(encoding="utf-8") == TEMPLATE
    assert load_config(target) == Config()


def test_the_template_names_every_setting_and_uncommented_it_is_valid() -> None:
    for name, field in Config.model_fields.items():
        assert f"# [{name}" in TEMPLATE or f"# {name} = " in TEMPLATE, name
        section = getattr(field.annotation, "model_fields", {})
        for inner in section:
            assert re.search(rf"^# {inner} = ", TEMPLATE, re.M), f"{name}.{inner}"
    uncommented = re.sub(r"^# (?=\[|[a-z_]+ = )", "", TEMPLATE, flags=re.M)
    config = Config.model_validate(tomllib.loads(uncommented))
    assert config.budget.daily_usd == Decimal("5.00")
    assert config.mcp_servers["files"].command == "npx"


def test_init_refuses_to_overwrite_without_force(isolated_environment: Path) -> None:
    write_config(isolated_environment, 'model = "mine"\n')
    refused = run_cli("config", "init")
    assert refused.exit_code == 2
    assert "already exists; pass --force" in refused.stderr
    target = config_file(isolated_environment)
    assert target.read_text(encoding="utf-8") == 'model = "mine"\n'
    forced = run_cli("config", "init", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert target.read_text(encoding="utf-8") == TEMPLATE
    assert target.with_name("config.toml.bak").read_text(encoding="utf-8") == 'model = "mine"\n'


@pytest.mark.parametrize(
    ("key", "value", "shown", "check"),
    [
        ("provider", "tokenhub", '"tokenhub"', lambda c: c.provider == "tokenhub"),
        ("model", "123", '"123"', lambda c: c.model == "123"),  # text stays text
        ("timeouts.read", "90", "90.0", lambda c: c.timeouts.read == 90.0),
        ("retry.max_retries", "5", "5", lambda c: c.retry.max_retries == 5),
        ("budget.daily_usd", "5.10", '"5.10"', lambda c: c.budget.daily_usd == Decimal("5.10")),
        ("context.policy", "fail", '"fail"', lambda c: c.context.policy == "fail"),
        ("approval.tools", '["a", "b"]', '["a", "b"]', lambda c: c.approval.tools == ["a", "b"]),
        (
            "providers.local.base_url",
            "http://127.0.0.1:11434/v1",
            '"http://127.0.0.1:11434/v1"',
            lambda c: c.providers["local"].base_url == "http://127.0.0.1:11434/v1",
        ),
        (
            "providers.local.requires_key",
            "false",
            "false",
            lambda c: c.providers["local"].requires_key is False,
        ),
        (
            'prices."gpt-5.4".input_per_1k',
            "0.0002",
            '"0.0002"',
            lambda c: c.prices["gpt-5.4"].input_per_1k == Decimal("0.0002"),
        ),
        (
            'context.lengths."org/model.1"',
            "32000",
            "32000",
            lambda c: c.context.lengths == {"org/model.1": 32000},
        ),
    ],
)  # fmt: skip
def test_set_writes_a_checked_value(
    isolated_environment: Path, key: str, value: str, shown: str, check: object
) -> None:
    result = run_cli("config", "set", key, value)
    assert result.exit_code == 0, result.stderr
    target = config_file(isolated_environment)
    assert result.stdout == f"{target}: {key} = {shown}\n"
    assert result.stderr == ""
    assert check(load_config(target))  # type: ignore[operator]


def test_set_keeps_other_settings_and_comments(isolated_environment: Path) -> None:
    write_config(
        isolated_environment,
        "# my settings\n"
        'provider = "tokenhub"  # work account\n'
        "\n"
        "[timeouts]\n"
        "read = 60.0  # seconds\n"
        "connect = 5.0\n",
    )
    for key, value in (("timeouts.read", "120"), ("model", "m1"), ("retry.max_retries", "2")):
        result = run_cli("config", "set", key, value)
        assert result.exit_code == 0 and result.stderr == "", result.stderr
    assert config_file(isolated_environment).read_text(encoding="utf-8") == (
        "# my settings\n"
        'provider = "tokenhub"  # work account\n'
        'model = "m1"\n'
        "\n"
        "[timeouts]\n"
        "read = 120.0  # seconds\n"
        "connect = 5.0\n"
        "\n"
        "[retry]\n"
        "max_retries = 2\n"
    )


def test_set_on_the_init_template_keeps_it(isolated_environment: Path) -> None:
    assert run_cli("config", "init").exit_code == 0
    assert run_cli("config", "set", "timeouts.read", "90").exit_code == 0
    text = config_file(isolated_environment).read_text(encoding="utf-8")
    assert text.startswith(TEMPLATE) and text.endswith("\n[timeouts]\nread = 90.0\n")


def test_set_keeps_comments_around_an_inline_table(isolated_environment: Path) -> None:
    """A table defined inline was once rewritten, dropping every comment in the file."""
    write_config(isolated_environment, '# mine\ntimeouts = { read = 1.0 }\nmodel = "a"  # m\n')
    result = run_cli("config", "set", "timeouts.connect", "3")
    assert result.exit_code == 0, result.stderr
    assert "its comments were dropped" not in result.stderr
    text = config_file(isolated_environment).read_text(encoding="utf-8")
    assert text.startswith("# mine\n") and 'model = "a"  # m\n' in text
    config = load_config(config_file(isolated_environment))
    assert (config.timeouts.read, config.timeouts.connect, config.model) == (1.0, 3.0, "a")


def test_set_hides_a_secret_it_writes(isolated_environment: Path) -> None:
    result = run_cli("config", "set", "server.keys", f'["{SECRETS[1]}"]')
    assert result.exit_code == 0, result.stderr
    assert SECRETS[1] not in result.stdout and "server.keys = <hidden>" in result.stdout
    keys = load_config(config_file(isolated_environment)).server.keys
    assert [key.get_secret_value() for key in keys] == [SECRETS[1]]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timeouts.reed", "5", "key 'timeouts.reed': timeouts has connect, read, write, pool"),
        ("colour", "red", "unknown key 'colour': the top level has provider, model,"),
        ("model.name", "x", "unknown key 'model.name': model is a value, not a table"),
        ("timeouts..read", "5", "is not a key"),
        ("timeouts.read", "soon", "value 'soon' for timeouts.read: Input should be a valid number"),
        ("timeouts.read", "0", "Input should be greater than 0"),
        ("context.policy", "shrink", "invalid value 'shrink' for context.policy"),
        ("approval.tools", "web_search", "write a list or a table in TOML"),
        ("providers.local.dialect", "soap", "invalid value 'soap' for providers.local.dialect"),
    ],
)  # fmt: skip
def test_set_refuses_a_bad_key_or_value_with_exit_2(
    isolated_environment: Path, key: str, value: str, message: str
) -> None:
    write_config(isolated_environment, 'model = "kept"\n')
    result = run_cli("config", "set", key, value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert config_file(isolated_environment).read_text(encoding="utf-8") == 'model = "kept"\n'


def test_set_refuses_to_touch_a_file_that_is_not_toml(isolated_environment: Path) -> None:
    write_config(isolated_environment, "model = \n")
    result = run_cli("config", "set", "model", "x")
    assert result.exit_code == 2 and "not valid TOML" in result.stderr
    assert config_file(isolated_environment).read_text(encoding="utf-8") == "model = \n"


def test_set_creates_the_file_and_its_folder(isolated_environment: Path) -> None:
    target = config_file(isolated_environment)
    assert not target.parent.exists()
    assert run_cli("config", "set", "model", "m").exit_code == 0
    assert target.read_text(encoding="utf-8") == 'model = "m"\n'

"""`alltoken-agent mcp install`: print or merge the MCP entry into each runtime's config."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}


def install(home: Path, *args: str) -> Any:
    result = run_cli(
        "mcp", "install", "--home", str(home), "--command", "alltoken-agent", *args, env=ENV
    )
    assert TEST_KEY not in result.stdout + result.stderr
    return result


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".bak-*"))


@pytest.mark.parametrize(
    ("target", "config"),
    [
        ("claude", ".claude.json"),
        ("codex", ".codex/config.toml"),
        ("opencode", ".config/opencode/opencode.json"),
        ("hermes", ".hermes/config.yaml"),
        ("openclaw", ".openclaw/openclaw.json"),
    ],
)
def test_prints_the_entry_and_writes_nothing_by_default(
    tmp_path: Path, target: str, config: str
) -> None:
    result = install(tmp_path, "--target", target)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "alltoken-agent" in out and "ALLTOKEN_API_KEY" in out
    assert str(tmp_path / config) in result.stderr
    assert not any(tmp_path.iterdir())


def test_codex_entry_is_merged_into_config_toml_keeping_everything_else(tmp_path: Path) -> None:
    config = tmp_path / ".codex" / "config.toml"
    config.parent.mkdir(parents=True)
    original = (
        '# my settings\nmodel = "gpt-5.5"\n\n[mcp_servers.docs]\ncommand = "npx"\n'
        'args = ["-y", "docs-mcp"]\n\n[mcp_servers.docs.env]\nTOKEN_FILE = "/x"\n'
    )
    config.write_text(original)

    result = install(tmp_path, "--target", "codex", "--write")
    assert result.exit_code == 0, result.stderr
    text = config.read_text()
    assert text.startswith(original.rstrip("\n"))  # untouched, comments included
    data = tomllib.loads(text)
    assert data["model"] == "gpt-5.5"
    assert data["mcp_servers"]["docs"] == {
        "command": "npx",
        "args": ["-y", "docs-mcp"],
        "env": {"TOKEN_FILE": "/x"},
    }
    assert data["mcp_servers"]["alltoken-agent"] == {
        "command": "alltoken-agent",
        "args": ["mcp"],
        "env_vars": ["ALLTOKEN_API_KEY"],
    }
    [backup] = backups(config)
    assert backup.read_text() == original

    again = install(tmp_path, "--target", "codex", "--write")
    assert again.exit_code == 0 and "unchanged" in again.stdout
    assert len(backups(config)) == 1


def test_claude_entry_joins_the_other_servers_in_claude_json(tmp_path: Path) -> None:
    config = tmp_path / ".claude.json"
    original = {
        "numStartups": 3,
        "projects": {"/src/app": {"mcpServers": {}}},
        "mcpServers": {"github": {"type": "http", "url": "https://example.test/mcp"}},
    }
    config.write_text(json.dumps(original))
    config.chmod(0o600)

    result = install(tmp_path, "--target", "claude", "--write")
    assert result.exit_code == 0, result.stderr
    data = json.loads(config.read_text())
    assert data["numStartups"] == 3 and data["projects"] == original["projects"]
    assert data["mcpServers"]["github"] == original["mcpServers"]["github"]
    assert data["mcpServers"]["alltoken-agent"] == {
        "type": "stdio",
        "command": "alltoken-agent",
        "args": ["mcp"],
        "env": {"ALLTOKEN_API_KEY": "${ALLTOKEN_API_KEY}"},
    }
    assert config.stat().st_mode & 0o777 == 0o600
    assert json.loads(backups(config)[0].read_text()) == original
    assert TEST_KEY not in config.read_text()


def test_a_different_entry_is_replaced_only_with_force(tmp_path: Path) -> None:
    config = tmp_path / ".openclaw" / "openclaw.json"
    config.parent.mkdir(parents=True)
    original = {"mcp": {"servers": {"alltoken-agent": {"command": "old"}, "x": {"command": "y"}}}}
    config.write_text(json.dumps(original))

    refused = install(tmp_path, "--target", "openclaw", "--write")
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert json.loads(config.read_text()) == original and not backups(config)

    forced = install(tmp_path, "--target", "openclaw", "--write", "--force")
    assert forced.exit_code == 0, forced.stderr
    servers = json.loads(config.read_text())["mcp"]["servers"]
    assert servers["x"] == {"command": "y"}
    assert servers["alltoken-agent"]["args"] == ["mcp"]
    assert servers["alltoken-agent"]["env"] == {"ALLTOKEN_API_KEY": "${ALLTOKEN_API_KEY}"}
    assert len(backups(config)) == 1


def test_opencode_entry_uses_its_schema_and_a_new_file_gets_the_schema_url(tmp_path: Path) -> None:
    result = install(tmp_path, "--target", "opencode", "--write", "--model", "deepseek-v4-flash")
    assert result.exit_code == 0, result.stderr
    data = json.loads((tmp_path / ".config/opencode/opencode.json").read_text())
    assert data["$schema"] == "https://opencode.ai/config.json"
    assert data["mcp"]["alltoken-agent"] == {
        "type": "local",
        "command": ["alltoken-agent", "mcp", "--model", "deepseek-v4-flash"],
        "enabled": True,
        "environment": {"ALLTOKEN_API_KEY": "{env:ALLTOKEN_API_KEY}"},
    }


def test_a_file_with_comments_is_left_alone(tmp_path: Path) -> None:
    config = tmp_path / ".config" / "opencode" / "opencode.json"
    config.parent.mkdir(parents=True)
    original = '{\n  // my theme\n  "theme": "dark",\n}\n'
    config.write_text(original)
    printed = install(tmp_path, "--target", "opencode")
    assert printed.exit_code == 0 and "not plain JSON" in printed.stderr
    refused = install(tmp_path, "--target", "opencode", "--write")
    assert refused.exit_code == 2
    assert '"alltoken-agent"' in refused.stderr  # the snippet
    assert config.read_text() == original and not backups(config)


def test_hermes_yaml_gets_a_new_section_and_a_second_run_writes_nothing(
    tmp_path: Path,
) -> None:
    yaml = pytest.importorskip("yaml")
    config = tmp_path / ".hermes" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("model:\n  default: glm-5\n")
    result = install(tmp_path, "--target", "hermes", "--write", "--provider", "tokenhub")
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(config.read_text())
    assert data["model"] == {"default": "glm-5"}
    assert data["mcp_servers"]["alltoken-agent"] == {
        "command": "alltoken-agent",
        "args": ["mcp", "--provider", "tokenhub"],
        "env": {"TOKENHUB_API_KEY": "${TOKENHUB_API_KEY}"},
    }
    before = config.read_text()
    [backup] = backups(config)
    again = install(tmp_path, "--target", "hermes", "--write", "--provider", "tokenhub")
    assert again.exit_code == 0 and "unchanged" in again.stdout
    assert config.read_text() == before and backups(config) == [backup]
    other = install(tmp_path, "--target", "hermes", "--write")
    assert other.exit_code == 2 and "--force" in other.stderr
    assert config.read_text() == before


def test_hermes_yaml_with_an_mcp_servers_section_gets_ours_merged_under_it(
    tmp_path: Path,
) -> None:
    yaml = pytest.importorskip("yaml")
    config = tmp_path / ".hermes" / "config.yaml"
    config.parent.mkdir(parents=True)
    original = (
        "# Hermes settings\n"
        "model:\n  default: glm-5  # the default\n"
        "mcp_servers:\n  # the docs server\n  docs:\n    command: npx\n"
        "    args:\n      - -y\n      - docs-mcp\n"
        "\n# how it looks\ndisplay:\n  theme: dark\n"
    )
    config.write_text(original)

    result = install(tmp_path, "--target", "hermes", "--write")
    assert result.exit_code == 0, result.stderr
    text = config.read_text()
    for comment in ("# Hermes settings", "# the default", "# the docs server", "# how it looks"):
        assert comment in text
    assert text.index("# how it looks") < text.index("display:")  # still above its section
    data = yaml.safe_load(text)
    assert data["display"] == {"theme": "dark"}
    assert data["mcp_servers"] == {
        "docs": {"command": "npx", "args": ["-y", "docs-mcp"]},
        "alltoken-agent": {
            "command": "alltoken-agent",
            "args": ["mcp"],
            "env": {"ALLTOKEN_API_KEY": "${ALLTOKEN_API_KEY}"},
        },
    }
    assert TEST_KEY not in text
    [backup] = backups(config)
    assert backup.read_text() == original

    again = install(tmp_path, "--target", "hermes", "--write")
    assert again.exit_code == 0 and "unchanged" in again.stdout
    assert config.read_text() == text and len(backups(config)) == 1


def test_broken_hermes_yaml_is_refused_with_the_snippet_and_not_written(tmp_path: Path) -> None:
    config = tmp_path / ".hermes" / "config.yaml"
    config.parent.mkdir(parents=True)
    original = "model: [unclosed\nmcp_servers:\n  docs: {command: npx}\n"
    config.write_text(original)
    printed = install(tmp_path, "--target", "hermes")
    assert printed.exit_code == 0 and "not valid YAML" in printed.stderr
    refused = install(tmp_path, "--target", "hermes", "--write")
    assert refused.exit_code == 2
    assert "not valid YAML" in refused.stderr and "Traceback" not in refused.stderr
    assert "alltoken-agent:" in refused.stderr  # the snippet to paste by hand
    assert config.read_text() == original and not backups(config)


def test_any_json_or_toml_file_can_be_the_target(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".mcp.json").write_text('{"mcpServers": {"other": {"command": "x"}}}')
    result = install(tmp_path, "--target", str(project / ".mcp.json"), "--write")
    assert result.exit_code == 0, result.stderr
    servers = json.loads((project / ".mcp.json").read_text())["mcpServers"]
    assert servers == {
        "other": {"command": "x"},
        "alltoken-agent": {"command": "alltoken-agent", "args": ["mcp"]},
    }
    unknown = install(tmp_path, "--target", "vim")
    assert unknown.exit_code == 2 and "unknown target" in unknown.stderr

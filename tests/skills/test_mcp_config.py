"""Merging the MCP entry into TOML and YAML configs in place: comments kept, one editor each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from alltoken_agent import UserError
from alltoken_agent._yaml_edit import load as load_yaml
from alltoken_agent.skills.mcp_config import (
    McpPlan,
    ServerCommand,
    plan_mcp_install,
    render,
    write_mcp_config,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SERVER = ServerCommand("alltoken-agent")
OURS_TOML = {"command": "alltoken-agent", "args": ["mcp"], "env_vars": ["ALLTOKEN_API_KEY"]}
OURS_YAML = {
    "command": "alltoken-agent",
    "args": ["mcp"],
    "env": {"ALLTOKEN_API_KEY": "${ALLTOKEN_API_KEY}"},
}


def plan(target: str, home: Path, server: ServerCommand = SERVER) -> McpPlan:
    return plan_mcp_install(target, server, home, {})


def config(home: Path, relative: str, text: str) -> Path:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".bak-*"))


# -- TOML (Codex) ---------------------------------------------------------------------


CODEX = (
    "# Codex settings\n"
    'model = "gpt-5.5"  # the default model\n'
    "\n"
    "# the docs server\n"
    "[mcp_servers.docs]\n"
    'command = "npx"\n'
    "\n"
    "# how it looks\n"
    "[tui]\n"
    'theme = "dark"\n'
)


def test_toml_entry_goes_after_the_last_server_and_the_next_tables_comment_stays_above_it(
    tmp_path: Path,
) -> None:
    path = config(tmp_path, ".codex/config.toml", CODEX)
    assert plan("codex", tmp_path).state == "add"

    outcome = write_mcp_config(plan("codex", tmp_path))

    text = path.read_text()
    assert outcome.written and outcome.backup is not None
    assert outcome.backup.read_text() == CODEX
    assert text.startswith(CODEX.split("# how it looks")[0])  # all before it untouched
    assert text.index("[mcp_servers.alltoken-agent]") < text.index("# how it looks")
    assert text.endswith('# how it looks\n[tui]\ntheme = "dark"\n')
    data = tomllib.loads(text)
    assert data["mcp_servers"] == {"docs": {"command": "npx"}, "alltoken-agent": OURS_TOML}
    assert data["tui"] == {"theme": "dark"}


def test_toml_second_run_is_a_no_op(tmp_path: Path) -> None:
    path = config(tmp_path, ".codex/config.toml", CODEX)
    write_mcp_config(plan("codex", tmp_path))
    written = path.read_text()

    again = plan("codex", tmp_path)
    assert again.state == "same"
    assert write_mcp_config(again).written is False
    assert path.read_text() == written and len(backups(path)) == 1


def test_toml_entry_replaced_with_force_stays_where_it_was_with_its_comment(
    tmp_path: Path,
) -> None:
    text = (
        "[mcp_servers.alltoken-agent]  # ours\n"
        'command = "old"\n'
        "\n"
        "[mcp_servers.docs]\n"
        'command = "npx"\n'
    )
    path = config(tmp_path, ".codex/config.toml", text)
    stale = plan("codex", tmp_path)
    assert stale.state == "replace"
    with pytest.raises(UserError, match="--force"):
        write_mcp_config(stale)
    assert path.read_text() == text

    write_mcp_config(stale, force=True)
    merged = path.read_text()
    assert merged.startswith("[mcp_servers.alltoken-agent]  # ours\n")
    assert merged.index("alltoken-agent") < merged.index("[mcp_servers.docs]")
    assert tomllib.loads(merged)["mcp_servers"]["alltoken-agent"] == OURS_TOML


def test_broken_toml_is_left_to_the_user_and_not_written(tmp_path: Path) -> None:
    text = "[mcp_servers.docs\ncommand = 'npx'\n"
    path = config(tmp_path, ".codex/config.toml", text)
    broken = plan("codex", tmp_path)
    assert broken.state == "manual" and "not valid TOML" in broken.reason
    with pytest.raises(UserError, match="not valid TOML") as raised:
        write_mcp_config(broken)
    assert "[mcp_servers.alltoken-agent]" in str(raised.value)  # the snippet to paste
    assert path.read_text() == text and not backups(path)


def test_toml_snippet_comes_from_the_editor_and_reads_back_as_the_entry() -> None:
    entry = {"command": "a b", "args": ["mcp", 'say "hi"'], "env": {"K": "${K}"}}
    snippet = render("toml", ("mcp_servers", "my server"), entry)
    assert snippet.startswith('[mcp_servers."my server"]\n')
    assert tomllib.loads(snippet) == {"mcp_servers": {"my server": entry}}


# -- YAML (Hermes) --------------------------------------------------------------------


HERMES = (
    "# Hermes settings\n"
    "model:\n"
    "    default: glm-5   # the default\n"
    "mcp_servers:\n"
    "    # the docs server\n"
    "    docs:\n"
    "        command: npx\n"
    "        args:\n"
    "          - -y\n"
    "          - 'docs-mcp'   # quoted as I like it\n"
    "\n"
    "# how it looks\n"
    "display:\n"
    "    theme: dark\n"
)


def test_yaml_entry_is_merged_under_the_existing_section_keeping_comments_and_layout(
    tmp_path: Path,
) -> None:
    path = config(tmp_path, ".hermes/config.yaml", HERMES)
    assert plan("hermes", tmp_path).state == "add"

    outcome = write_mcp_config(plan("hermes", tmp_path))

    text = path.read_text()
    assert outcome.written and outcome.backup is not None
    assert outcome.backup.read_text() == HERMES
    # Everything up to the end of the docs server reads exactly as before (indent, quotes).
    assert text.startswith(HERMES.split("\n\n# how it looks")[0] + "\n    alltoken-agent:\n")
    assert "        args:\n          - mcp\n" in text  # the file's own list layout
    assert text.endswith("\n# how it looks\ndisplay:\n    theme: dark\n")
    data = load_yaml(text)
    assert data["mcp_servers"] == {
        "docs": {"command": "npx", "args": ["-y", "docs-mcp"]},
        "alltoken-agent": OURS_YAML,
    }
    assert data["model"] == {"default": "glm-5"} and data["display"] == {"theme": "dark"}


def test_yaml_second_run_is_a_no_op(tmp_path: Path) -> None:
    path = config(tmp_path, ".hermes/config.yaml", HERMES)
    write_mcp_config(plan("hermes", tmp_path))
    written = path.read_text()

    again = plan("hermes", tmp_path)
    assert again.state == "same"
    assert write_mcp_config(again).written is False
    assert path.read_text() == written and len(backups(path)) == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("model: [unclosed\n", "not valid YAML"),
        ("mcp_servers:\n  a: 1\nmcp_servers:\n  b: 2\n", "not valid YAML"),  # duplicate key
        ("mcp_servers: [docs]\n", "mcp_servers in"),
        ("- just\n- a list\n", "does not hold a YAML mapping"),
    ],
)
def test_yaml_that_cannot_be_merged_safely_is_refused_and_not_written(
    tmp_path: Path, text: str, why: str
) -> None:
    path = config(tmp_path, ".hermes/config.yaml", text)
    refused = plan("hermes", tmp_path)
    assert refused.state == "manual" and why in refused.reason
    with pytest.raises(UserError, match="Add this by hand") as raised:
        write_mcp_config(refused)
    assert "alltoken-agent:" in str(raised.value)
    assert "\n" not in refused.reason  # a one-line reason before the snippet
    assert path.read_text() == text and not backups(path)


@pytest.mark.parametrize(
    "text",
    ["", "# nothing set yet\n", "mcp_servers:\n", "model: x\nmcp_servers: {}\n"],
)
def test_yaml_without_servers_gets_the_section(tmp_path: Path, text: str) -> None:
    path = config(tmp_path, ".hermes/config.yaml", text)
    write_mcp_config(plan("hermes", tmp_path))
    merged = path.read_text()
    assert load_yaml(merged)["mcp_servers"] == {"alltoken-agent": OURS_YAML}
    if text.startswith("#"):
        assert merged.startswith("# nothing set yet\n")


def test_yaml_strings_a_yaml_1_1_reader_would_misread_are_quoted(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML reads YAML 1.1, as Python runtimes do
    server = ServerCommand("alltoken-agent", ("mcp", "--model", "yes", "--tag", "2026-01-01"))
    path = config(tmp_path, ".hermes/config.yaml", "model:\n  default: glm-5\n")
    write_mcp_config(plan("hermes", tmp_path, server))
    args = yaml.safe_load(path.read_text())["mcp_servers"]["alltoken-agent"]["args"]
    assert args == ["mcp", "--model", "yes", "--tag", "2026-01-01"]
    snippet = render("yaml", ("mcp_servers", "x"), {"args": ["on", "null", "1e3"]})
    assert yaml.safe_load(snippet) == {"mcp_servers": {"x": {"args": ["on", "null", "1e3"]}}}


def test_yaml_entry_replaced_with_force_keeps_the_comments_after_it(tmp_path: Path) -> None:
    text = (
        "mcp_servers:\n  alltoken-agent:\n    command: old  # mine\n\n# theme next\ntheme: dark\n"
    )
    path = config(tmp_path, ".hermes/config.yaml", text)
    write_mcp_config(plan("hermes", tmp_path), force=True)
    merged = path.read_text()
    assert merged.endswith("\n# theme next\ntheme: dark\n")
    assert load_yaml(merged) == {"mcp_servers": {"alltoken-agent": OURS_YAML}, "theme": "dark"}


def test_toml_servers_in_an_inline_table_are_refused_with_the_snippet_and_not_written(
    tmp_path: Path,
) -> None:
    text = 'mcp_servers = { docs = { command = "npx" } }  # inline\n'
    path = config(tmp_path, ".codex/config.toml", text)
    inline = plan("codex", tmp_path)
    assert inline.state == "add"
    with pytest.raises(UserError, match="does not edit") as raised:
        write_mcp_config(inline)
    assert "[mcp_servers.alltoken-agent]" in str(raised.value)
    assert path.read_text() == text and not backups(path)

"""The `tui` command: registered, documented, and helpful without the tui extra."""

from __future__ import annotations

import sys

import pytest

from tests.cli.helpers import run_cli


def test_tui_is_a_command_with_the_shared_provider_flags() -> None:
    result = run_cli("tui", "--help")
    assert result.exit_code == 0
    for flag in ("--provider", "--base-url", "--model", "--offline", "--session"):
        assert flag in result.stdout
    assert "tui" in run_cli("--help").stdout


def test_without_textual_the_command_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] == "textual" or name.startswith("alltoken_agent.tui"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "textual", None)  # makes `import textual` fail
    result = run_cli("tui", "--offline")
    assert result.exit_code == 1
    assert "pip install 'alltoken-agent[tui]'" in result.stderr
    assert result.stdout == ""

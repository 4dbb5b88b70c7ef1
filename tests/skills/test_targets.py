"""`skill install` / `skill show` targets: a mistyped runtime name is refused, not a new folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from alltoken_agent.skills import packaged_skill, skill_text
from tests.cli.helpers import run_cli


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_mistyped_runtime_is_refused_and_creates_nothing(workdir: Path, tmp_path: Path) -> None:
    result = run_cli("skill", "install", "--target", "claud", "--home", str(tmp_path / "home"))
    assert result.exit_code == 2
    assert "unknown target 'claud'" in result.stderr
    assert "claude, codex, opencode, hermes, openclaw" in result.stderr
    assert "./claud" in result.stderr
    assert list(workdir.iterdir()) == []
    assert not (tmp_path / "home").exists()


def test_a_relative_folder_or_an_existing_bare_folder_is_a_target(workdir: Path) -> None:
    new = run_cli("skill", "install", "--target", "./skills")
    assert new.exit_code == 0, new.stderr
    installed = workdir / "skills" / "alltoken-agent" / "SKILL.md"
    assert installed.read_text() == packaged_skill()
    assert str(installed) in new.stdout  # the absolute path, so the user knows where it went

    (workdir / "existing").mkdir()
    bare = run_cli("skill", "install", "--target", "existing")
    assert bare.exit_code == 0, bare.stderr
    assert (workdir / "existing" / "alltoken-agent" / "SKILL.md").is_file()


def test_skill_show_refuses_an_unknown_target_and_accepts_any_case() -> None:
    unknown = run_cli("skill", "show", "--target", "nope")
    assert unknown.exit_code == 2
    assert "unknown target 'nope'" in unknown.stderr
    assert unknown.stdout == ""
    shown = run_cli("skill", "show", "--target", "OpenClaw")
    assert shown.exit_code == 0
    assert shown.stdout == skill_text("openclaw") != packaged_skill()

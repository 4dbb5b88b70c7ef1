"""The one atomic write (`_files.py`) behind every file we write whole."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from alltoken_agent import UserError
from alltoken_agent._files import write_atomic
from alltoken_agent.cli._batch_output import write_atomically as write_batch_output
from alltoken_agent.skills.install import write_atomically as write_skill_file


def test_text_is_written_as_utf8_with_its_newlines_as_given(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "record.json"
    assert write_atomic(target, "naïve\r\nline\n") == target
    assert target.read_bytes() == "naïve\r\nline\n".encode()


def test_a_mode_is_set_before_the_file_appears(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    write_atomic(target, "a: 1\n", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_replaced_file_keeps_its_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text("model = 'a'\n")
    target.chmod(0o600)
    write_atomic(target, "model = 'b'\n")
    assert target.read_text() == "model = 'b'\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_without_replace_an_existing_file_stays_and_the_new_one_goes_beside(
    tmp_path: Path,
) -> None:
    target = tmp_path / "fox.png"
    target.write_bytes(b"old")
    assert write_atomic(target, b"new", replace=False) == tmp_path / "fox-1.png"
    assert target.read_bytes() == b"old"


def _batch(path: Path) -> None:
    write_batch_output(path, [{"line": 1, "output": "hi"}])


def _skill(path: Path) -> None:
    write_skill_file(path, "# skill\n")


@pytest.mark.parametrize("write", [_batch, _skill], ids=["batch output", "skill file"])
def test_a_write_that_fails_leaves_no_temporary_file(
    tmp_path: Path, write: Callable[[Path], None]
) -> None:
    """The batch output's own writer once left its temporary file when the move failed."""
    target = tmp_path / "out.jsonl"
    target.mkdir()  # a folder where the file should go: the final move fails
    with pytest.raises(UserError, match="cannot write"):
        write(target)
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert list(target.iterdir()) == []

"""Where result files go, and that they only ever appear whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alltoken_agent.media.files import (
    PartFile,
    file_paths,
    output_target,
    sniff_mime,
    write_atomic,
)


def test_targets_are_folders_or_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert output_target(None) == str(tmp_path) + os.sep
    assert output_target("out") == str(tmp_path / "out") + os.sep  # no extension: a folder
    assert output_target("fox.png") == str(tmp_path / "fox.png")
    (tmp_path / "dir.v2").mkdir()
    assert output_target("dir.v2") == str(tmp_path / "dir.v2") + os.sep
    assert output_target(str(tmp_path / "new.d") + os.sep).endswith(os.sep)


def test_file_names_in_a_folder_and_at_a_path() -> None:
    folder = "/x/out/"
    assert file_paths(folder, "job_1", ["png"]) == [Path("/x/out/job_1.png")]
    assert file_paths(folder, "job_1", ["png", "jpg"]) == [
        Path("/x/out/job_1-1.png"),
        Path("/x/out/job_1-2.jpg"),
    ]
    assert file_paths("/x/fox.png", "job_1", ["png"]) == [Path("/x/fox.png")]
    assert file_paths("/x/fox.png", "job_1", ["png", "png"]) == [
        Path("/x/fox-1.png"),
        Path("/x/fox-2.png"),
    ]


def test_atomic_write_creates_folders_and_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.bin"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["b.bin"]


def test_an_abandoned_part_file_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "video.mp4"
    with pytest.raises(RuntimeError), PartFile(target) as part:
        part.write(b"half a video")
        raise RuntimeError("connection lost")
    assert list(tmp_path.iterdir()) == []


def test_sniffing_recognises_the_media_types() -> None:
    assert sniff_mime(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_mime(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_mime(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert sniff_mime(b"\x00\x00\x00\x14ftypqt  ") == "video/quicktime"
    assert sniff_mime(b"hello") is None

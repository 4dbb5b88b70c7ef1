"""Reading media jobs' progress and results, and drawing image previews."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from alltoken_agent.tui.media import describe_progress, media_api, saved_paths
from alltoken_agent.tui.preview import half_block_preview
from alltoken_agent.tui.widgets import MediaResult


def test_progress_lines_show_status_percentage_and_time() -> None:
    assert describe_progress(SimpleNamespace(status="processing", elapsed=12.4)) == (
        "processing (12 s)"
    )
    assert describe_progress(SimpleNamespace(phase="download", progress=0.5)) == "download 50%"
    assert describe_progress("queued") == "queued"


def test_saved_paths_accepts_a_path_paths_or_a_result(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert saved_paths(a) == [a]
    assert saved_paths([str(a), b]) == [a, b]
    assert saved_paths(SimpleNamespace(paths=[a, b])) == [a, b]
    assert saved_paths(None) == []


def test_an_object_without_media_has_no_api() -> None:
    assert media_api(object(), "image") is None
    assert media_api(SimpleNamespace(videos=SimpleNamespace()), "video") is None


def test_an_image_preview_is_half_blocks_in_the_image_colours(tmp_path: Path) -> None:
    path = tmp_path / "square.png"
    image = Image.new("RGB", (4, 4), (255, 0, 0))
    image.paste((0, 0, 255), (0, 2, 4, 4))
    image.save(path)
    preview = half_block_preview(path)
    assert preview is not None
    assert preview.plain == "▀▀▀▀\n▀▀▀▀"
    assert "#ff0000 on #ff0000" in str(preview.spans[0].style)
    assert "#0000ff on #0000ff" in str(preview.spans[-1].style)


def test_a_file_that_is_no_image_has_no_preview(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image", encoding="utf-8")
    assert half_block_preview(path) is None


@pytest.mark.slow
async def test_a_media_result_previews_an_image_and_links_every_file(
    build: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLORTERM", "truecolor")  # a terminal that can show the preview
    image, video = tmp_path / "cat.png", tmp_path / "cat.mp4"
    Image.new("RGB", (8, 8), (10, 200, 30)).save(image)
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        shown = MediaResult("image", "a cat", [image])
        await app.chat.add(shown)
        await app.chat.add(MediaResult("video", "a cat", [video]))
        await pilot.pause()
        assert shown.previews == 1
        links = [str(s.render()) for s in app.chat.query(".media-path")]
        assert links == [f"saved {image}", f"saved {video}"]


@pytest.mark.slow
async def test_a_terminal_with_few_colours_gets_only_the_path(
    build: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    image = tmp_path / "cat.png"
    Image.new("RGB", (8, 8), (10, 200, 30)).save(image)
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        shown = MediaResult("image", "a cat", [image])
        await app.chat.add(shown)
        await pilot.pause()
        assert shown.previews == 0
        assert [str(s.render()) for s in app.chat.query(".media-path")] == [f"saved {image}"]

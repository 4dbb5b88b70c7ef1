"""Image and video results share one base; their JSON shapes stay what callers read."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from alltoken_agent.media import ImageResult, MediaFile, VideoResult

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_an_image_result_dict_has_the_shared_fields_then_its_durable_copy() -> None:
    files = (MediaFile(Path("a.png"), "image/png", 3, url="https://r2/a.png"),)
    result = ImageResult("job_1", "gpt-image-2", files, task_id="igen_1", r2_url="https://r2/a")
    data = result.to_dict()
    assert list(data) == [
        "job_id", "task_id", "model", "files", "usage", "request_id", "r2_url",
        "r2_url_expires_at",
    ]  # fmt: skip
    assert data["files"][0]["url_expires_at"] is None and data["r2_url"] == "https://r2/a"
    assert result.paths == [Path("a.png")] and result.mime_types == ["image/png"]


def test_a_video_result_dict_has_the_shared_fields_then_its_link_and_duration() -> None:
    files = (
        MediaFile(Path("v.mp4"), "video/mp4", 9, url_expires_at=WHEN),
        MediaFile(Path("v-last.png"), "image/png", 2),
    )
    result = VideoResult("job_2", "seedance-1.5-pro", files, video_url_expires_at=WHEN, duration=5)
    data = result.to_dict()
    assert list(data) == [
        "job_id", "task_id", "model", "files", "usage", "request_id", "video_url",
        "video_url_expires_at", "duration",
    ]  # fmt: skip
    assert data["video_url_expires_at"] == WHEN.isoformat() == data["files"][0]["url_expires_at"]
    assert result.path == Path("v.mp4") and result.paths == [Path("v.mp4"), Path("v-last.png")]

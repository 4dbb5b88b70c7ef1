"""Result downloads: http(s) only, a size cap enforced while reading, and each says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent import Gateway, GatewayError, MediaJobError, Provider
from alltoken_agent.media import DownloadLimits, Media
from alltoken_agent.media._download import download
from alltoken_agent.store import Store
from tests.gateway.helpers import FAST_RETRY, TEST_KEY
from tests.media.conftest import FAST, wire

SMALL = DownloadLimits(image_bytes=1024 * 1024, video_bytes=1024 * 1024)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_a_result_past_the_cap_without_content_length_stops_and_stays_resumable(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["huge:3"])  # 3 MiB, chunked: counted while read
    with pytest.raises(MediaJobError) as caught:
        await media.videos.generate("a fox runs", save_to=out, poll=FAST, limits=SMALL)
    error = caught.value
    assert error.code == "result_too_large" and error.status == "pending"
    assert "1,048,576-byte cap" in str(error) and "max_video_mb" in str(error)
    assert "expired" not in str(error)
    assert _leftovers(out) == []  # no partial file left behind
    (job,) = store.media_jobs.unfinished()
    assert job.status == "pending"

    bigger = DownloadLimits(video_bytes=8 * 1024 * 1024)
    result = await media.resume(job.id, poll=FAST, limits=bigger)
    assert result.path.stat().st_size == 3 * 1024 * 1024
    assert sim.state.media.submits == {"video": 1}


async def test_a_declared_content_length_past_the_cap_is_refused_before_reading(
    sim: Any,
    gw: Gateway,
    out: Path,
    media: Media,
) -> None:
    tiny = DownloadLimits(video_bytes=16)
    with pytest.raises(MediaJobError) as caught:
        await media.videos.generate("a fox runs", save_to=out, poll=FAST, limits=tiny)
    assert caught.value.code == "result_too_large" and "it says" in str(caught.value)
    assert _leftovers(out) == []


@pytest.mark.slow
async def test_a_file_url_result_is_refused_as_such_and_never_read(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["file_url"])
    with pytest.raises(MediaJobError) as caught:
        await media.videos.generate("a fox runs", save_to=out, poll=FAST)
    error = caught.value
    assert (error.code, error.status) == ("unsafe_result_url", "failed")
    assert "file:" in str(error) and "not http(s)" in str(error)
    assert "expired" not in str(error)
    assert _leftovers(out) == []
    (job,) = store.media_jobs.list_jobs()
    assert (job.status, job.error_code) == ("failed", "unsafe_result_url")
    assert not [r for r in sim.state.requests if r.path.startswith("/_sim/r2/")]


async def test_downloads_within_the_cap_are_unchanged(
    sim: Any, gw: Gateway, out: Path, media: Media
) -> None:
    result = await media.videos.generate("a fox runs", save_to=out, poll=FAST, limits=SMALL)
    assert result.path.read_bytes()[4:8] == b"ftyp"
    assert len(wire(sim, result.video_url.split(sim.url, 1)[1], "GET")) == 1  # type: ignore[union-attr]


async def test_a_redirect_to_a_file_url_is_not_followed(tmp_path: Path) -> None:
    """A bucket that redirects to the local disk; MockTransport plays the bucket."""

    def bucket(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "file:///etc/passwd"})

    provider = Provider(
        name="sim", base_url="http://127.0.0.1:9/v1", api_key_env=None, dialect="alltoken"
    )
    async with Gateway(provider, api_key=TEST_KEY, retry=FAST_RETRY) as gateway:
        await gateway._client.aclose()
        gateway._client = httpx.AsyncClient(transport=httpx.MockTransport(bucket))
        with pytest.raises(GatewayError) as caught:
            await download(gateway, "https://bucket.example/v.mp4", tmp_path / "v.mp4")
    assert caught.value.code == "unsafe_result_url" and "not followed" in str(caught.value)
    assert list(tmp_path.iterdir()) == []

"""`generate_image` and `generate_video` through the SDK's client, over stdio and HTTP.

Over stdio the server is `alltoken-agent mcp --offline --media-dir ...` as a subprocess
(its own in-process simulator); over HTTP it is built by the factory on a gateway
pointed at the session's simulator, so a job fault can be queued on it.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from PIL import Image

from alltoken_agent import Gateway
from alltoken_agent.store import Store
from tests.gateway.helpers import gateway_for
from tests.mcp.expectations import text_of
from tests.mcp.helpers import RunningServer, serve_in_thread
from tests.media.test_videos import assert_video

pytestmark = pytest.mark.slow

Progress = list[tuple[float, float | None, str | None]]


def progress_log() -> tuple[Progress, Any]:
    """A list of progress notifications, and the client callback that fills it."""
    seen: Progress = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return seen, on_progress


def check_image(result: Any, folder: Path) -> Path:
    """The image tool's result: the saved path as text, and the same image as content."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    (path,) = [Path(p) for p in result.structured_content["paths"]]
    assert path.is_file() and path.parent == folder
    assert f"saved {path}" in text_of(result)
    (image,) = [block for block in result.content if block.type == "image"]
    assert image.mime_type == "image/png"
    data = base64.b64decode(image.data)
    assert data == path.read_bytes()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.format == "PNG" and opened.size == (1024, 1024)
    return path


def check_video(result: Any, folder: Path, seen: Progress) -> Path:
    """The video tool's result: the saved MP4's path, after progress notifications."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    (path,) = [Path(p) for p in result.structured_content["paths"]]
    assert path.parent == folder and path.suffix == ".mp4"
    assert_video(path)
    assert f"saved {path}" in text_of(result)
    assert [block.type for block in result.content] == ["text"]
    assert seen, "no progress notification"
    steps = [step for step, _, _ in seen]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert any(message and message.startswith("submitted to") for _, _, message in seen)
    return path


# -- over stdio ------------------------------------------------------------------------


async def test_media_tools_over_stdio(isolated_environment: Path, tmp_path: Path) -> None:
    folder = tmp_path / "media"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "alltoken_agent", "mcp", "--offline", "--media-dir", str(folder)],
        env={"ALLTOKEN_AGENT_HOME": str(isolated_environment)},
        cwd=str(isolated_environment),
    )
    seen, on_progress = progress_log()
    with open(isolated_environment / "server-stderr.log", "w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                image = await session.call_tool(
                    "generate_image", {"prompt": "a red fox", "size": "1024x1024"}
                )
                video = await session.call_tool(
                    "generate_video",
                    {"prompt": "a fox runs", "duration": 5, "resolution": "480p"},
                    progress_callback=on_progress,
                )
                failed = await session.call_tool(
                    "generate_video", {"prompt": "a fox", "model": "no-such-video-model"}
                )
    check_image(image, folder)
    check_video(video, folder, seen)
    assert failed.is_error and failed.structured_content is not None
    error = failed.structured_content["error"]
    assert error["code"] == "upstream_model_not_found"
    assert error["type"] == "MediaJobError" and error["job_status"] == "failed"
    assert "upstream_model_not_found" in text_of(failed)
    # Journaled like the CLI's jobs: local owner, in the data folder's store.
    with Store() as store:
        jobs = {job.kind: job for job in store.media_jobs.list_jobs(statuses=["completed"])}
    assert set(jobs) == {"image", "video"}
    stderr = (isolated_environment / "server-stderr.log").read_text(encoding="utf-8")
    assert "Traceback" not in stderr


# -- over streamable HTTP --------------------------------------------------------------


@pytest.fixture
def sim_server(sim: Any) -> Iterator[RunningServer]:
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1

    def make() -> Gateway:
        return gateway_for(sim)

    with serve_in_thread(make) as running:
        yield running


async def test_media_tools_over_http(
    sim_server: RunningServer, sim: Any, isolated_environment: Path
) -> None:
    folder = isolated_environment / "data" / "media" / "mcp"  # the default media folder
    seen, on_progress = progress_log()
    async with Client(sim_server.url) as client:
        image = await client.call_tool("generate_image", {"prompt": "a fox", "size": "1024x1024"})
        video = await client.call_tool(
            "generate_video", {"prompt": "a fox runs"}, progress_callback=on_progress
        )
        sim.state.media.enqueue_job_faults(["fail"])
        failed = await client.call_tool("generate_image", {"prompt": "a fox"})
        bad = await client.call_tool("generate_image", {"prompt": "a fox", "size": "100x100"})
    check_image(image, folder)
    check_video(video, folder, seen)
    (create,) = [r for r in sim.state.requests if r.path == "/v1/videos/generations"]
    assert create.json["model"] == "seedance-1.5-pro"

    assert failed.is_error and failed.structured_content is not None
    error = failed.structured_content["error"]
    assert (error["code"], error["job_status"]) == ("upstream_error", "failed")
    assert error["job_id"] and "failed on the gateway" in error["message"]
    assert bad.is_error and bad.structured_content is not None
    assert bad.structured_content["error"]["code"] == "invalid_input"
    assert "multiples of 16" in text_of(bad)

"""Where results go: a target no file can be saved at is refused before the job is paid
for, and a disk that refuses a delivered result leaves the job resumable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, MediaJobError, UserError
from alltoken_agent.media import JobEvent, Media
from alltoken_agent.store import Store
from tests.media.conftest import FAST


async def test_a_target_under_a_file_is_refused_before_any_request(
    gw: Gateway,
    sim: Any,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    blocker = tmp_path / "fox.png"
    blocker.write_bytes(b"already a file")
    for target in (blocker / "sub.png", blocker / "deeper" / "out/"):
        with pytest.raises(UserError, match="is a file, not a folder"):
            await media.images.generate("a fox", save_to=target, poll=FAST)
        with pytest.raises(UserError, match="is a file, not a folder"):
            await media.videos.generate("a fox", save_to=target, poll=FAST)
    with pytest.raises(UserError, match="is a file, not a folder"):
        await media.images.generate_many(["a", "b"], save_to=f"{blocker}/batch/", poll=FAST)
    assert sim.state.requests == [] and store.media_jobs.list_jobs() == []


async def test_a_folder_that_does_not_exist_yet_is_created(
    gw: Gateway, tmp_path: Path, media: Media
) -> None:
    target = tmp_path / "new" / "deeper" / "fox.png"
    result = await media.images.generate("a fox", size="32x32", save_to=target, poll=FAST)
    assert result.paths == [target] and target.is_file()


async def test_a_disk_that_refuses_the_one_time_bytes_leaves_the_job_resumable(
    gw: Gateway,
    sim: Any,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    out = tmp_path / "out"
    out.mkdir()

    def break_the_folder(event: JobEvent) -> None:
        if event.name == "job:submitted":  # after the checks, before the delivery
            shutil.rmtree(out)
            out.write_bytes(b"the folder is now a file")

    with pytest.raises(MediaJobError, match="could not save its result") as caught:
        await media.images.generate(
            "a fox", size="32x32", save_to=out, on_progress=break_the_folder, poll=FAST
        )
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "pending" and f"jobs resume {job.id}" in str(caught.value)
    assert job.result["items"][0]["r2_url"]  # the durable copy is journaled
    out.unlink()
    out.mkdir()
    result = await media.images.resume(job.id, poll=FAST)
    with Image.open(result.paths[0]) as image:
        assert image.size == (32, 32)
    assert result.paths[0].parent == out
    assert sim.state.media.submits == {"image": 1} and sim.state.media.charges == {"image": 1}


async def test_a_disk_that_refuses_a_video_download_leaves_the_job_resumable(
    gw: Gateway,
    sim: Any,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    out = tmp_path / "clips"
    out.mkdir()

    def break_the_folder(event: JobEvent) -> None:
        if event.name == "job:submitted":
            shutil.rmtree(out)
            out.write_bytes(b"not a folder")

    with pytest.raises(MediaJobError, match="could not save its result"):
        await media.videos.generate("a fox", save_to=out, on_progress=break_the_folder, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "pending"
    out.unlink()
    result = await media.videos.resume(job.id, poll=FAST)
    assert result.path.read_bytes()[4:8] == b"ftyp"
    assert sim.state.media.submits == {"video": 1}


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
async def test_a_folder_without_write_permission_is_refused_before_any_request(
    gw: Gateway,
    sim: Any,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(UserError, match="no permission to write"):
            await media.images.generate("a fox", save_to=locked / "sub" / "fox.png", poll=FAST)
    finally:
        locked.chmod(0o755)
    assert sim.state.requests == [] and store.media_jobs.list_jobs() == []

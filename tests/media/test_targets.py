"""A result never replaces a file silently: it goes beside a taken target, unless overwrite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, MediaJobError
from alltoken_agent.media import JobEvent, Media, PollPolicy
from alltoken_agent.media.files import PartFile, write_atomic
from alltoken_agent.store import Store
from tests.media.conftest import FAST

SHORT = PollPolicy(initial=0.01, interval=0.05, jitter=0.0, deadline=0.5)


def _saved(events: list[JobEvent]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in events if e.name == "job:saved"]


async def test_an_image_at_a_taken_path_is_saved_beside_it_and_the_event_says_so(
    gw: Gateway,
    out: Path,
    events: list[JobEvent],
    media: Media,
) -> None:
    mine = out / "fox.png"
    mine.write_bytes(b"my own drawing")
    result = await media.images.generate(
        "a fox", size="64x64", save_to=mine, poll=FAST, on_progress=events.append
    )
    assert mine.read_bytes() == b"my own drawing"
    assert result.paths == [out / "fox-1.png"]
    with Image.open(out / "fox-1.png") as image:
        assert image.size == (64, 64)
    (saved,) = _saved(events)
    assert saved["taken"] == str(mine) and saved["path"] == str(out / "fox-1.png")


async def test_overwrite_replaces_the_file_at_the_target(
    gw: Gateway,
    out: Path,
    events: list[JobEvent],
    media: Media,
) -> None:
    target = out / "fox.png"
    target.write_bytes(b"old")
    result = await media.images.generate(
        "a fox", save_to=target, overwrite=True, poll=FAST, on_progress=events.append
    )
    assert result.paths == [target] and target.read_bytes()[:4] == b"\x89PNG"
    assert "taken" not in _saved(events)[0]
    assert not (out / "fox-1.png").exists()


@pytest.mark.slow
async def test_a_resumed_job_whose_target_was_taken_meanwhile_saves_beside_it(
    sim: Any,
    gw: Gateway,
    store: Store,
    out: Path,
    events: list[JobEvent],
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["slow:30"])
    target = out / "fox.png"
    with pytest.raises(MediaJobError):
        await media.images.generate("a fox", save_to=target, poll=SHORT)  # left pending
    target.write_bytes(b"made while the job waited")
    sim.state.media.advance(30)
    (job,) = store.media_jobs.unfinished()
    result = await media.resume(job.id, poll=FAST, on_progress=events.append)
    assert target.read_bytes() == b"made while the job waited"
    assert result.paths == [out / "fox-1.png"]
    assert _saved(events)[0]["taken"] == str(target)
    record = store.media_jobs.get(job.id)
    assert record is not None and record.files[0]["path"] == str(out / "fox-1.png")
    again = await media.resume(job.id, poll=FAST)  # completed: the same file, nothing new
    assert again.paths == [out / "fox-1.png"] and not (out / "fox-2.png").exists()


async def test_a_downloaded_video_at_a_taken_path_goes_beside_it(
    gw: Gateway,
    out: Path,
    events: list[JobEvent],
    media: Media,
) -> None:
    taken = out / "clip.mp4"
    taken.write_bytes(b"an older clip")
    (out / "clip-1.mp4").write_bytes(b"and another")
    result = await media.videos.generate(
        "a fox runs", save_to=taken, poll=FAST, on_progress=events.append
    )
    assert result.path == out / "clip-2.mp4" and result.path.read_bytes()[4:8] == b"ftyp"
    assert taken.read_bytes() == b"an older clip"
    assert (out / "clip-1.mp4").read_bytes() == b"and another"
    assert _saved(events)[0]["taken"] == str(taken)
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


def test_a_file_that_appears_before_the_move_is_kept(tmp_path: Path) -> None:
    """The no-clobber move itself: a file created after the check is not replaced."""
    target = tmp_path / "fox.png"
    with PartFile(target) as part:
        part.write(b"result")
        target.write_bytes(b"appeared meanwhile")  # after the part file was opened
        final = part.commit(replace=False)
    assert final == tmp_path / "fox-1.png" and final.read_bytes() == b"result"
    assert target.read_bytes() == b"appeared meanwhile"
    assert write_atomic(target, b"again", replace=True) == target
    assert target.read_bytes() == b"again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fox-1.png", "fox.png"]

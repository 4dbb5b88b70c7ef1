"""Video jobs end to end over loopback: both dialects, uploads, failures, tasks."""

from __future__ import annotations

import asyncio
import io
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, MediaJobError, RequestRecord, UserError
from alltoken_agent.media import JobEvent, Media, PollPolicy
from alltoken_agent.store import Store
from tests.media.conftest import FAST, wire


def boxes(data: bytes) -> list[str]:
    """Top-level ISO-BMFF box types of an MP4/MOV file, in order."""
    found, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        assert size >= 8
        found.append(kind.decode("latin-1"))
        offset += size
    assert offset == len(data)
    return found


def assert_video(path: Path) -> None:
    kinds = boxes(path.read_bytes())
    assert kinds[0] == "ftyp" and {"moov", "mdat"} <= set(kinds)


def png(path: Path, size: tuple[int, int] = (32, 32)) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 10)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


async def test_an_alltoken_video_is_streamed_to_disk_with_progress(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    events: list[JobEvent],
    media: Media,
) -> None:
    result = await media.videos.generate(
        "a fox runs through snow",
        duration=5,
        ratio="16:9",
        resolution="480p",
        generate_audio=False,
        seed=7,
        save_to=out,
        on_progress=events.append,
        poll=FAST,
    )
    assert result.path == out / f"{result.job_id}.mp4"
    assert_video(result.path)
    assert result.duration == 5 and result.task_id and result.task_id.startswith("vgen_")
    assert result.video_url and result.video_url_expires_at is not None
    names = [e.name for e in events]
    assert names[0] == "job:submitted" and names[-2:] == ["job:saved", "job:done"]
    assert "job:download" in names and "job:status" in names
    (create,) = wire(sim, "/v1/videos/generations")
    assert create.json == {
        "model": "seedance-1.5-pro",
        "prompt": "a fox runs through snow",
        "duration": 5,
        "ratio": "16:9",
        "resolution": "480p",
        "generate_audio": False,
        "seed": 7,
    }
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.status == "completed"
    assert create.headers["idempotency-key"] == job.idempotency_key


async def test_a_last_frame_is_saved_next_to_the_video(
    gw: Gateway, out: Path, media: Media
) -> None:
    result = await media.videos.generate(
        "a fox", return_last_frame=True, resolution="480p", ratio="1:1", save_to=out, poll=FAST
    )
    video, frame = result.paths
    assert_video(video)
    assert frame.name == f"{result.job_id}-last-frame.png"
    with Image.open(frame) as image:
        assert image.format == "PNG" and image.size == (480, 480)


async def test_a_local_first_frame_goes_through_presign_and_put(
    gw: Gateway,
    sim: Any,
    out: Path,
    tmp_path: Path,
    media: Media,
) -> None:
    frame = png(tmp_path / "fox.png")
    result = await media.videos.generate(
        "the fox turns", model="seedance-2.0", first_frame=frame, save_to=out, poll=FAST
    )
    assert_video(result.path)
    (presign,) = wire(sim, "/v1/uploads/presign")
    assert presign.json["purpose"] == "video_input_image"
    assert presign.json["content_type"] == "image/png"
    assert presign.json["content_length"] == frame.stat().st_size
    (put,) = [r for r in sim.state.requests if r.method == "PUT"]
    assert put.status == 200 and not put.has_auth
    assert put.headers["content-md5"] == presign.json["content_md5"]
    (create,) = wire(sim, "/v1/videos/generations")
    (item,) = create.json["content"]
    assert item["type"] == "image" and item["role"] == "first_frame"
    assert item["upload_id"].startswith("upl_") and "url" not in item
    assert "data:" not in str(create.json)


async def test_a_url_frame_is_sent_as_a_link(
    gw: Gateway, sim: Any, out: Path, media: Media
) -> None:
    await media.videos.generate(
        "a fox", last_frame="https://example.com/end.png", save_to=out, poll=FAST
    )
    (create,) = wire(sim, "/v1/videos/generations")
    assert create.json["content"] == [
        {
            "type": "image_url",
            "image_url": {"url": "https://example.com/end.png"},
            "role": "last_frame",
        }
    ]
    assert wire(sim, "/v1/uploads/presign") == []


async def test_bad_frames_are_refused_before_any_request(
    gw: Gateway,
    sim: Any,
    out: Path,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    huge = tmp_path / "huge.png"
    with huge.open("wb") as handle:
        handle.truncate(31 * 1024 * 1024)
    cases = [
        (text, "not a PNG, JPEG or WebP"),
        (huge, "31.0 MB"),
        (tmp_path / "missing.png", "no such file"),
        ("data:image/png;base64,AAAA", "data: URLs are no longer accepted"),
    ]
    for frame, words in cases:
        with pytest.raises(UserError, match=words):
            await media.videos.generate("a fox", first_frame=frame, save_to=out)
    assert sim.state.requests == [] and store.media_jobs.list_jobs() == []


@pytest.mark.slow
async def test_a_crash_between_journal_and_upload_is_resumed_with_a_new_upload(
    gw: Gateway,
    sim: Any,
    out: Path,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    frame = png(tmp_path / "fox.png")
    sim.state.enqueue_faults(["503", "503", "503"])  # the presign fails every try
    with pytest.raises(MediaJobError, match="could not upload"):
        await media.videos.generate("a fox", first_frame=frame, save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "submitting" and job.request is None
    result = await media.videos.resume(job.id, poll=FAST)
    assert_video(result.path)
    assert sim.state.media.submits == {"video": 1}


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        ("fail:upstream_content_violation", "failed", "upstream_content_violation"),
        ("expire", "expired", "expired"),
        ("cancel", "cancelled", "was cancelled"),
    ],
)
async def test_video_jobs_ending_without_a_result_raise_and_are_journaled(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    fault: str,
    status: str,
    words: str,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults([fault])
    with pytest.raises(MediaJobError, match=words) as caught:
        await media.videos.generate("a fox", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert (job.status, job.id in str(caught.value)) == (status, True)
    assert list(out.iterdir()) == []


async def test_an_expired_link_is_never_downloaded(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.video_url_ttl = 0  # completed, but the URL died at once
    with pytest.raises(MediaJobError, match="expired") as caught:
        await media.videos.generate("a fox", save_to=out, poll=FAST)
    assert "submit it again" in str(caught.value)
    assert not [r for r in sim.state.requests if r.path.startswith("/_sim/r2/")]
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "expired"


async def test_get_list_and_cancel_a_running_task(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    events: list[JobEvent],
    media: Media,
) -> None:
    sim.state.media.video_seconds = 30
    job = asyncio.ensure_future(
        media.videos.generate("a fox", save_to=out, on_progress=events.append, poll=FAST)
    )
    while not events:
        await asyncio.sleep(0.01)
    job_id, task_id = events[0].job_id, getattr(events[0], "task_id")  # noqa: B009
    task = await media.videos.get(job_id)
    assert (task.id, task.status, task.finished) == (task_id, "queued", False)
    listed = await media.videos.list(limit=5)
    assert [t.id for t in listed] == [task_id]
    cancelled = await media.videos.cancel(job_id)
    assert cancelled.status == "cancelled"
    with pytest.raises(MediaJobError, match="was cancelled"):
        await job
    assert store.media_jobs.get(job_id).status == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(MediaJobError, match="cannot be cancelled"):
        await media.videos.cancel(task_id)


async def test_deadline_then_resume_polls_the_same_task(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.video_seconds = 30
    with pytest.raises(MediaJobError, match="stays pending"):
        await media.videos.generate(
            "a fox", save_to=out, poll=PollPolicy(initial=0.01, interval=0.05, deadline=0.2)
        )
    sim.state.media.advance(30)
    (job,) = await media.videos.pending()
    result = await media.videos.resume(job.task_id or "", poll=FAST)  # a task id works too
    assert_video(result.path) and sim.state.media.submits == {"video": 1}


async def test_video_records_carry_the_seconds_for_the_ledger(
    gw: Gateway,
    out: Path,
    records: list[RequestRecord],
    media: Media,
) -> None:
    result = await media.videos.generate("a fox", duration=6, save_to=out, poll=FAST)
    (record,) = records
    assert (record.kind, record.outcome, record.model) == ("video", "ok", "seedance-1.5-pro")
    assert record.extra == {"job_id": result.job_id, "seconds": 6.0, "task_id": result.task_id}


@pytest.mark.parametrize(
    ("model", "shape"),
    [("wan2.6-t2v", "A"), ("wan2.7-t2v", "B"), ("happyhorse-1.0-t2v", "C")],
)
async def test_each_tokenhub_shape_polls_with_the_model_and_saves_the_video(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    model: str,
    shape: str,
    th_media: Media,
) -> None:
    result = await th_media.videos.generate(
        "rain on a tin roof", model=model, duration=4, ratio="16:9", resolution="720p",
        save_to=out, poll=FAST,
    )  # fmt: skip
    assert_video(result.path)
    assert result.duration == 4
    (create,) = wire(th_sim, "/v1/video/generations")
    if shape == "A":
        assert create.json == {"model": model, "prompt": "rain on a tin roof", "duration": 4}
    elif shape == "B":
        assert create.headers["x-dashscope-async"] == "enable"
        assert create.json["input"] == {"prompt": "rain on a tin roof"}
        assert create.json["parameters"] == {"ratio": "16:9", "duration": 4, "resolution": "720P"}
    else:
        assert create.json == {
            "model": model, "prompt": "rain on a tin roof", "duration": 4,
            "resolution": "720p", "ratio": "16:9",
        }  # fmt: skip
    polls = wire(th_sim, f"/v1/video/tasks/{result.task_id}", "GET")
    assert polls and all(p.query == {"model": model} for p in polls)


@pytest.mark.slow
async def test_tokenhub_failures_and_expired_links_are_clear(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    th_media: Media,
) -> None:
    th_sim.state.media.enqueue_job_faults(["fail", "expire"])
    with pytest.raises(MediaJobError, match="failed on the gateway"):
        await th_media.videos.generate("rain", model="wan2.7-t2v", save_to=out, poll=FAST)
    with pytest.raises(MediaJobError, match="no longer works"):
        await th_media.videos.generate("rain", model="wan2.6-t2v", save_to=out, poll=FAST)
    assert [j.status for j in store.media_jobs.list_jobs()] == ["expired", "failed"]


async def test_tokenhub_takes_no_frames_and_has_no_cancel(
    th_gw: Gateway,
    th_sim: Any,
    tmp_path: Path,
    th_media: Media,
) -> None:
    with pytest.raises(UserError, match="no frames"):
        await th_media.videos.generate("rain", first_frame=png(tmp_path / "a.png"))
    with pytest.raises(UserError, match="cancel"):
        await th_media.videos.cancel("task_x")
    assert th_sim.state.requests == []


def test_frames_accept_path_like_objects(tmp_path: Path) -> None:
    from alltoken_agent.media.uploads import check_image_file

    image = check_image_file(os.fspath(png(tmp_path / "x.png")), "first frame")
    assert image.content_type == "image/png" and len(image.md5_base64) == 24


async def test_a_dropped_video_submit_is_retried_with_the_same_key_and_charged_once(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.enqueue_faults(["accept_then_drop"])  # the create takes effect, the reply is lost
    result = await media.videos.generate("a fox", save_to=out, poll=FAST)
    creates = wire(sim, "/v1/videos/generations")
    assert [r.status for r in creates] == [None, 409]
    assert creates[0].headers["idempotency-key"] == creates[1].headers["idempotency-key"]
    assert sim.state.media.charges == {"video": 1}
    assert sim.state.media.charged_task_ids == [result.task_id]
    assert_video(result.path)


async def test_a_dropped_tokenhub_video_submit_is_not_retried_and_says_why(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    th_media: Media,
) -> None:
    th_sim.state.enqueue_faults(["accept_then_drop"])
    with pytest.raises(MediaJobError, match="billed twice") as caught:
        await th_media.videos.generate("rain", model="wan2.6-t2v", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "submitting" and f"jobs resume {job.id}" in str(caught.value)
    assert len(wire(th_sim, "/v1/video/generations")) == 1
    assert th_sim.state.media.charges == {"video": 1}


@pytest.mark.slow
async def test_first_last_and_reference_images_mix_uploads_and_links(
    gw: Gateway,
    sim: Any,
    out: Path,
    tmp_path: Path,
    store: Store,
    media: Media,
) -> None:
    first = png(tmp_path / "first.png")
    jpeg = tmp_path / "ref.jpg"
    Image.new("RGB", (24, 24), (10, 90, 200)).save(jpeg, "JPEG")
    result = await media.videos.generate(
        "the fox walks from here to there",
        model="seedance-2.0",
        first_frame=first,
        last_frame="https://example.com/end.png",
        reference_images=[jpeg],
        watermark=True,
        callback_url="https://example.com/hook",
        save_to=out,
        poll=FAST,
    )
    assert_video(result.path)
    presigns = wire(sim, "/v1/uploads/presign")
    assert [p.json["content_type"] for p in presigns] == ["image/png", "image/jpeg"]
    assert len([r for r in sim.state.requests if r.method == "PUT"]) == 2
    (create,) = wire(sim, "/v1/videos/generations")
    body = create.json
    assert (body["watermark"], body["callback_url"]) == (True, "https://example.com/hook")
    roles = [(item["type"], item["role"]) for item in body["content"]]
    assert roles == [("image", "first_frame"), ("image_url", "last_frame"),
                     ("image", "reference_image")]  # fmt: skip
    uploads = [item["upload_id"] for item in body["content"] if item["type"] == "image"]
    assert len(set(uploads)) == 2 and all(u.startswith("upl_") for u in uploads)
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.request == body  # the journal holds the final body

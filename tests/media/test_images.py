"""AllToken image jobs end to end over loopback: journal, submit, poll, persist first."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, MediaJobError, RequestRecord, UserError
from alltoken_agent.media import JobEvent, Media, PollPolicy
from alltoken_agent.store import Store
from tests.media.conftest import FAST, wire


async def test_an_image_is_saved_in_the_requested_size_and_format(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    events: list[JobEvent],
    media: Media,
) -> None:
    result = await media.images.generate(
        "a red fox in snow",
        size="64x48",
        output_format="webp",
        save_to=out,
        on_progress=events.append,
        poll=FAST,
    )
    (path,) = result.paths
    assert path.parent == out and path.name == f"{result.job_id}.webp"
    with Image.open(path) as image:
        assert (image.format, image.size) == ("WEBP", (64, 48))
    assert result.mime_types == ["image/webp"]
    assert result.task_id is not None and result.task_id.startswith("igen_")
    assert result.r2_url is not None and result.r2_url_expires_at is not None
    assert result.usage is not None and result.usage.total_tokens > 0
    names = [e.name for e in events]
    assert names[0] == "job:submitted" and names[-3:] == ["job:status", "job:saved", "job:done"]
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.status == "completed" and job.task_id == result.task_id
    assert job.files[0]["path"] == str(path) and job.result["items"][0]["r2_url"]
    assert "b64_json" not in str(job.result)  # the journal never holds the bytes
    assert not list(out.glob(".*.part"))  # no temp file left behind


async def test_a_file_path_names_the_file_and_its_extension_picks_the_format(
    gw: Gateway,
    sim: Any,
    tmp_path: Path,
    media: Media,
) -> None:
    target = tmp_path / "deep" / "fox.jpg"
    result = await media.images.generate("a fox", size="32x32", save_to=target, poll=FAST)
    assert result.paths == [target]
    with Image.open(target) as image:
        assert image.format == "JPEG"
    (create,) = wire(sim, "/v1/images/generations/async")
    assert create.json["output_format"] == "jpeg"


async def test_several_images_of_one_job_are_numbered(gw: Gateway, out: Path, media: Media) -> None:
    result = await media.images.generate("two foxes", n=2, size="32x32", save_to=out, poll=FAST)
    assert [p.name for p in result.paths] == [f"{result.job_id}-1.png", f"{result.job_id}-2.png"]
    for path in result.paths:
        with Image.open(path) as image:
            assert image.size == (32, 32)


async def test_the_job_is_journaled_with_its_key_before_the_submit(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    seen: list[Any] = []

    def journal_at_submit(event: JobEvent) -> None:
        if event.name == "job:submitted":
            seen.append(store.media_jobs.get(event.job_id))

    result = await media.images.generate(
        "a fox", save_to=out, on_progress=journal_at_submit, poll=FAST
    )
    (create,) = wire(sim, "/v1/images/generations/async")
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.idempotency_key
    assert create.headers["idempotency-key"] == job.idempotency_key
    assert job.request == create.json
    assert seen[0].status == "pending" and seen[0].task_id == result.task_id


async def test_a_dropped_submit_is_retried_with_the_same_key_and_charged_once(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.enqueue_faults(["accept_then_drop"])  # the create takes effect, the reply is lost
    result = await media.images.generate("a fox", save_to=out, poll=FAST)
    creates = wire(sim, "/v1/images/generations/async")
    assert [r.status for r in creates] == [None, 409]
    assert creates[0].headers["idempotency-key"] == creates[1].headers["idempotency-key"]
    assert sim.state.media.charges == {"image": 1}
    assert sim.state.media.charged_task_ids == [result.task_id]
    assert result.paths[0].is_file()


async def test_a_lost_first_delivery_falls_back_to_the_r2_copy(
    gw: Gateway,
    sim: Any,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.image_seconds = 0
    # Fault 1 is for the create; fault 2 drops the poll that claimed the b64_json.
    sim.state.enqueue_faults(["slow:0", "accept_then_drop"])
    result = await media.images.generate("a fox", size="32x32", save_to=out, poll=FAST)
    with Image.open(result.paths[0]) as image:
        assert image.size == (32, 32)
    assert result.files[0].url == result.r2_url
    downloads = [r for r in sim.state.requests if r.path.startswith("/_sim/r2/images/")]
    assert len(downloads) == 1 and not downloads[0].has_auth  # our key never goes to R2


async def test_without_an_r2_copy_a_lost_delivery_is_a_clear_error_naming_the_job(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.image_seconds = 0
    sim.state.media.r2_enabled = False
    sim.state.enqueue_faults(["slow:0", "accept_then_drop"])
    with pytest.raises(MediaJobError, match="image_already_retrieved") as caught:
        await media.images.generate("a fox", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.id in str(caught.value) and "submit the prompt again" in str(caught.value)
    assert (job.status, job.error_code) == ("failed", "image_already_retrieved")


async def test_a_completed_job_whose_file_was_deleted_is_fetched_again_on_resume(
    gw: Gateway,
    sim: Any,
    out: Path,
    media: Media,
) -> None:
    first = await media.images.generate("a fox", save_to=out, poll=FAST)
    first.paths[0].unlink()
    again = await media.images.resume(first.job_id)
    assert again.paths == first.paths and again.paths[0].is_file()
    assert sim.state.media.submits == {"image": 1}
    assert [r.path for r in sim.state.requests][-1].startswith("/_sim/r2/")


async def test_resume_of_a_finished_job_returns_it_without_any_request(
    gw: Gateway,
    sim: Any,
    out: Path,
    media: Media,
) -> None:
    first = await media.images.generate("a fox", save_to=out, poll=FAST)
    before = len(sim.state.requests)
    again = await media.images.resume(first.job_id)
    assert again.paths == first.paths and again.r2_url == first.r2_url
    assert len(sim.state.requests) == before


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        ("fail:upstream_content_violation", "failed", "upstream_content_violation"),
        ("cancel", "cancelled", "was cancelled"),
        ("expire", "expired", "image_expired"),
    ],
)
async def test_jobs_ending_without_a_result_raise_and_are_journaled(
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
        await media.images.generate("a fox", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == status and job.id in str(caught.value)
    assert list(out.iterdir()) == []
    with pytest.raises(MediaJobError, match=words):  # resume repeats the verdict, offline
        await media.images.resume(job.id)


async def test_at_the_deadline_the_job_stays_pending_and_resume_finishes_it(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.media.image_seconds = 30
    short = PollPolicy(initial=0.01, interval=0.05, deadline=0.2)
    with pytest.raises(MediaJobError, match="jobs resume job_") as caught:
        await media.images.generate("a fox", save_to=out, poll=short)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "pending" and job.id in str(caught.value)
    assert [j.id for j in await media.images.pending()] == [job.id]
    sim.state.media.advance(30)
    result = await media.images.resume(job.id, poll=FAST)
    assert result.paths[0].is_file() and sim.state.media.submits == {"image": 1}
    assert await media.images.pending() == []


async def test_a_submit_never_confirmed_is_resumed_with_the_same_key(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    sim.state.enqueue_faults(["503", "503", "503"])  # every try of the submit fails
    with pytest.raises(MediaJobError, match="stays submitting") as caught:
        await media.images.generate("a fox", save_to=out, poll=FAST)
    assert isinstance(caught.value.__cause__, Exception)
    (job,) = store.media_jobs.list_jobs()
    assert job.status == "submitting" and job.task_id is None
    result = await media.images.resume(job.id, poll=FAST)
    creates = wire(sim, "/v1/images/generations/async")
    assert {r.headers["idempotency-key"] for r in creates} == {job.idempotency_key}
    assert sim.state.media.charges == {"image": 1} and result.paths[0].is_file()


async def test_bad_options_are_refused_before_any_request(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    for bad in (
        {"size": "1000x1000"},
        {"size": "4000x4000"},
        {"size": "1600x400"},
        {"n": 11},
        {"quality": "ultra"},
        {"background": "transparent", "output_format": "jpeg"},
    ):
        with pytest.raises(UserError):
            await media.images.generate("a fox", save_to=out, **bad)
    with pytest.raises(UserError, match="empty"):
        await media.images.generate("  ", save_to=out)
    assert sim.state.requests == [] and store.media_jobs.list_jobs() == []


async def test_observers_get_one_image_record_per_job(
    gw: Gateway,
    out: Path,
    records: list[RequestRecord],
    sim: Any,
    media: Media,
) -> None:
    result = await media.images.generate("a fox", n=2, save_to=out, poll=FAST)
    sim.state.media.enqueue_job_faults(["fail"])
    with pytest.raises(MediaJobError):
        await media.images.generate("a fox", save_to=out, poll=FAST)
    ok, failed = records
    assert (ok.kind, ok.model, ok.outcome) == ("image", "gpt-image-2", "ok")
    assert ok.extra == {"job_id": result.job_id, "images": 2, "task_id": result.task_id}
    assert ok.usage is not None and ok.usage.completion_tokens > 0
    assert ok.request_id == result.request_id is not None
    assert (failed.kind, failed.outcome) == ("image", "upstream_error")


async def test_generate_many_keeps_going_past_a_failure_and_keeps_the_order(
    gw: Gateway,
    sim: Any,
    out: Path,
    media: Media,
) -> None:
    sim.state.media.enqueue_job_faults(["fail"])  # the first create (concurrency 1)
    results = await media.images.generate_many(
        ["one", "two", "three"], concurrency=1, save_to=out, poll=FAST
    )
    failed, *done = results
    assert isinstance(failed, MediaJobError)
    assert all(not isinstance(r, Exception) and r.paths[0].is_file() for r in done)
    prompts = [r.json["prompt"] for r in wire(sim, "/v1/images/generations/async")]
    assert prompts == ["one", "two", "three"]


@pytest.mark.slow
async def test_generate_many_runs_jobs_concurrently(
    gw: Gateway, sim: Any, out: Path, media: Media
) -> None:
    sim.state.media.image_seconds = 0.2
    results = await media.images.generate_many(
        [f"fox {i}" for i in range(6)], concurrency=6, save_to=out, poll=FAST
    )
    assert all(not isinstance(r, Exception) for r in results)
    assert len({r.job_id for r in results if not isinstance(r, Exception)}) == 6
    assert sim.state.media.submits == {"image": 6}


async def test_ctrl_c_while_saving_still_finishes_the_save(
    gw: Gateway,
    sim: Any,
    out: Path,
    store: Store,
    media: Media,
) -> None:
    def interrupt_when_completed(event: JobEvent) -> None:
        if event.name == "job:status" and event.status == "completed":
            job.cancel()  # as asyncio.run does on Ctrl-C, mid-save

    job = asyncio.ensure_future(
        media.images.generate("a fox", save_to=out, on_progress=interrupt_when_completed, poll=FAST)
    )
    with pytest.raises(asyncio.CancelledError):
        await job
    (record,) = store.media_jobs.list_jobs()
    assert record.status == "completed"
    assert Path(record.files[0]["path"]).is_file()


async def test_media_without_a_store_journals_in_the_default_one_opened_on_first_use(
    sim: Any, out: Path, isolated_environment: Path
) -> None:
    from tests.gateway.helpers import gateway_for

    default_file = isolated_environment / "data" / "alltoken-agent.db"
    async with gateway_for(sim) as gateway:
        media = Media(gateway)
        assert not default_file.exists()  # nothing opened before the first job
        result = await media.images.generate("a fox", save_to=out, poll=FAST)
        assert media.store.media_jobs.get(result.job_id) is not None
    with Store() as default:
        assert default.media_jobs.get(result.job_id) is not None
    assert (isolated_environment / "data" / "alltoken-agent.db").is_file()


async def test_a_batch_refuses_to_write_every_job_to_one_file(
    gw: Gateway,
    sim: Any,
    tmp_path: Path,
    media: Media,
) -> None:
    with pytest.raises(UserError, match="must be a folder"):
        await media.images.generate_many(["a", "b"], save_to=tmp_path / "one.png")
    assert sim.state.requests == []

"""Synchronous image dialects: TokenHub's three body shapes and plain OpenAI-compatible."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alltoken_agent import Gateway, Media, MediaJobError, UserError
from alltoken_agent.store import Store
from tests.media.conftest import FAST, media_gateway, wire


@pytest.fixture
async def oa_media(th_sim: Any, store: Store) -> AsyncIterator[Media]:
    """Jobs on an OpenAI-dialect gateway; the simulator's TokenHub side answers OpenAI-style."""
    async with media_gateway(th_sim, "openai") as gateway:
        yield Media(gateway, store)


@pytest.mark.parametrize(
    ("model", "size", "shape"),
    [
        ("wanx2.1-t2i-turbo", "320x256", "A"),
        ("wan2.6-t2i", "256x320", "B"),
        ("gpt-image-2", "64x48", "C"),
        ("tokenhub/gpt-image-2", "64x48", "C"),
    ],
)
async def test_each_tokenhub_shape_saves_a_real_image(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    model: str,
    size: str,
    shape: str,
    th_media: Media,
) -> None:
    result = await th_media.images.generate("a paper crane", model=model, size=size, save_to=out)
    width, height = (int(side) for side in size.split("x"))
    with Image.open(result.paths[0]) as image:
        assert (image.format, image.size) == ("PNG", (width, height))
    (create,) = wire(th_sim, "/v1/images/generations")
    body = create.json
    if shape == "A":
        assert body == {"model": model, "prompt": "a paper crane", "size": "320*256", "n": 1}
    elif shape == "B":
        assert "prompt" not in body and body["parameters"]["size"] == "256*320"
        assert body["input"]["messages"][0]["content"] == [{"text": "a paper crane"}]
    else:
        assert body["size"] == "64x48" and body["prompt"] == "a paper crane"
    assert "idempotency-key" not in create.headers  # TokenHub documents none (§2.1)
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.status == "completed" and job.task_id is None
    if shape != "C":  # URLs were downloaded at once, without our key
        (download,) = [r for r in th_sim.state.requests if r.path.startswith("/_sim/r2/")]
        assert not download.has_auth


async def test_a_url_answer_in_shape_c_is_downloaded(
    th_gw: Gateway, out: Path, th_media: Media
) -> None:
    result = await th_media.images.generate(
        "a crane", size="32x32", output_format="webp", response_format="url", save_to=out
    )
    assert result.mime_types == ["image/webp"] and result.paths[0].suffix == ".webp"
    assert result.files[0].url is not None


async def test_a_failed_sync_create_is_journaled_and_named(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    th_media: Media,
) -> None:
    th_sim.state.media.enqueue_job_faults(["fail"] * 3)  # a 500 for every try
    with pytest.raises(MediaJobError, match="could not be submitted") as caught:
        await th_media.images.generate("a crane", save_to=out, poll=FAST)
    (job,) = store.media_jobs.list_jobs()
    assert job.id in str(caught.value) and job.status == "submitting"


async def test_a_dropped_tokenhub_create_is_not_retried_so_it_is_not_paid_twice(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    th_media: Media,
) -> None:
    th_sim.state.enqueue_faults(["accept_then_drop"])
    with pytest.raises(MediaJobError, match="billed twice"):
        await th_media.images.generate("a crane", save_to=out)
    assert th_sim.state.media.charges == {"image": 1}
    assert len(wire(th_sim, "/v1/images/generations")) == 1


async def test_an_expired_tokenhub_link_says_so(
    th_gw: Gateway,
    th_sim: Any,
    out: Path,
    store: Store,
    th_media: Media,
) -> None:
    th_sim.state.media.enqueue_job_faults(["expire"])
    with pytest.raises(MediaJobError, match="no longer works") as caught:
        await th_media.images.generate("a crane", model="wan2.6-t2i", save_to=out)
    assert caught.value.__cause__ is None  # a 403 from a bucket is not an auth failure
    (job,) = store.media_jobs.list_jobs()
    assert (job.status, job.error_code) == ("expired", "link_expired")


async def test_openai_dialect_sends_openai_fields_and_saves_b64(
    oa_media: Media, th_sim: Any, out: Path
) -> None:
    result = await oa_media.images.generate(
        "a crane", size="48x32", quality="low", background="opaque", save_to=out
    )
    with Image.open(result.paths[0]) as image:
        assert image.size == (48, 32)
    (create,) = wire(th_sim, "/v1/images/generations")
    assert create.json == {
        "model": "gpt-image-2",
        "prompt": "a crane",
        "n": 1,
        "size": "48x32",
        "quality": "low",
        "background": "opaque",
    }


async def test_openai_dialect_has_no_video_api_and_says_which_providers_do(
    oa_media: Media, th_sim: Any
) -> None:
    with pytest.raises(UserError, match="AllToken or TokenHub"):
        await oa_media.videos.generate("rain")
    assert th_sim.state.requests == []


async def test_openai_dialect_downloads_a_url_answer_without_our_key(
    oa_media: Media, th_sim: Any, out: Path, store: Store
) -> None:
    result = await oa_media.images.generate(
        "a crane", size="48x32", output_format="jpeg", response_format="url", save_to=out
    )
    with Image.open(result.paths[0]) as image:
        assert (image.format, image.size) == ("JPEG", (48, 32))
    assert result.mime_types == ["image/jpeg"] and result.paths[0].suffix == ".jpg"
    (create,) = wire(th_sim, "/v1/images/generations")
    assert create.json["response_format"] == "url"
    (download,) = [r for r in th_sim.state.requests if r.path.startswith("/_sim/r2/")]
    assert not download.has_auth
    job = store.media_jobs.get(result.job_id)
    assert job is not None and job.status == "completed"
    assert job.result["items"][0]["url"] == result.files[0].url

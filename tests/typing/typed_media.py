"""Checked by mypy (``[tool.mypy] files``), never run: the media jobs API infers its results.

Images and videos share one generic jobs API (``JobsAPI[ResultT]``); each kind's calls
still return that kind's result, and a mistake in a job's options is caught.
"""

from __future__ import annotations

from typing_extensions import assert_type

from alltoken_agent import Gateway, ImageResult, Media, MediaJobRecord, VideoResult, VideoTask


async def check(gateway: Gateway) -> None:
    media = Media(gateway)
    assert_type(await media.images.generate("a fox", size="1024x1024"), ImageResult)
    assert_type(await media.videos.generate("a fox runs", duration=5), VideoResult)
    assert_type(await media.images.resume("job_1"), ImageResult)
    assert_type(await media.videos.resume("job_1", resubmit=True), VideoResult)
    assert_type(await media.images.generate_many(["a", "b"]), list[ImageResult | Exception])
    assert_type(await media.resume("job_1", owner=None), ImageResult | VideoResult)
    assert_type(await media.find("job_1"), MediaJobRecord)
    assert_type(await media.pending(), list[MediaJobRecord])
    assert_type(await media.cancel("job_1"), VideoTask)
    await media.resume("job_1", resubmitt=True)  # type: ignore[call-arg]
    await media.images.generate("a fox", n="2")  # type: ignore[arg-type]
    Gateway(store=media.store)  # type: ignore[call-arg]

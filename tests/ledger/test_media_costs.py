"""Media jobs in the ledger: recorded, and priced per image, per video second or per token."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway, MediaJobError
from alltoken_agent.catalog import Catalog, price_lookup
from alltoken_agent.config import PriceSettings
from alltoken_agent.ledger import Ledger
from alltoken_agent.media import Media, PollPolicy
from alltoken_agent.store import Store
from tests.gateway.helpers import gateway_for

FAST = PollPolicy(initial=0.01, interval=0.05, jitter=0.0, deadline=10.0)


def media_gateway(sim: Any, store: Store) -> Gateway:
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1
    return gateway_for(sim)


@pytest.mark.slow
async def test_image_and_video_jobs_are_recorded_at_the_catalogs_media_prices(
    sim: Any, store: Store, ledger: Ledger, tmp_path: Path
) -> None:
    async with media_gateway(sim, store) as gateway:
        catalog = Catalog(gateway, use_cache=False)
        ledger.prices = await catalog.prices()
        gateway.add_observer(ledger.observer)
        image = await Media(gateway, store).images.generate(
            "a fox", n=2, save_to=tmp_path, poll=FAST
        )
        video = await Media(gateway, store).videos.generate(
            "a fox", duration=6, save_to=tmp_path, poll=FAST
        )
        entries = {e.id: e for e in await catalog.entries()}
    per_image = entries["gpt-image-2"].price.per_image  # type: ignore[union-attr]
    per_second = entries["seedance-1.5-pro"].price.per_video_second  # type: ignore[union-attr]
    assert per_image is not None and per_second is not None
    image_row, video_row = ledger.rows()
    assert (image_row.kind, image_row.model, image_row.outcome) == ("image", "gpt-image-2", "ok")
    assert image_row.cost_source == "estimated" and image_row.cost == per_image * 2
    assert image_row.extra["job_id"] == image.job_id
    assert (video_row.kind, video_row.model) == ("video", "seedance-1.5-pro")
    assert video_row.cost_source == "estimated" and video_row.cost == per_second * 6
    assert video_row.extra["task_id"] == video.task_id
    assert ledger.spent().total == per_image * 2 + per_second * 6


async def test_a_media_model_priced_per_token_costs_its_usage(
    sim: Any, store: Store, ledger: Ledger, tmp_path: Path
) -> None:
    tokens = PriceSettings(input_per_1k=Decimal("0.005"), output_per_1k=Decimal("0.04"))
    ledger.prices = price_lookup({}, {"gpt-image-2": tokens})
    async with media_gateway(sim, store) as gateway:
        gateway.add_observer(ledger.observer)
        image = await Media(gateway, store).images.generate("a fox", save_to=tmp_path, poll=FAST)
    (row,) = ledger.rows()
    usage = image.usage
    assert usage is not None and usage.completion_tokens > 0
    expected = usage.prompt_tokens * Decimal("0.005") + usage.completion_tokens * Decimal("0.04")
    assert row.cost_source == "estimated" and row.cost == expected / 1000
    assert (row.prompt_tokens, row.completion_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )


async def test_a_failed_media_job_is_recorded_with_an_unknown_cost_not_zero(
    sim: Any, store: Store, ledger: Ledger, tmp_path: Path
) -> None:
    sim.state.media.enqueue_job_faults(["fail"])
    async with media_gateway(sim, store) as gateway:
        ledger.prices = await Catalog(gateway, use_cache=False).prices()
        gateway.add_observer(ledger.observer)
        with pytest.raises(MediaJobError):
            await Media(gateway, store).images.generate("a fox", save_to=tmp_path, poll=FAST)
    (row,) = ledger.rows()
    assert (row.kind, row.outcome) == ("image", "upstream_error")
    assert row.cost is None and row.cost_source == "unknown"

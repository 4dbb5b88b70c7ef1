"""Fixtures for media jobs: gateways on the simulators with a journal in a temp store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Gateway, Provider, RequestRecord
from alltoken_agent.media import JobEvent, Media, PollPolicy
from alltoken_agent.store import Store
from tests.gateway.helpers import FAST_RETRY, TEST_KEY

FAST = PollPolicy(initial=0.01, interval=0.05, jitter=0.0, deadline=10.0)
"""Polls every few milliseconds: the simulator's jobs take a fraction of a second."""


def media_gateway(server: Any, dialect: str = "alltoken") -> Gateway:
    provider = Provider(
        name=f"sim-{dialect}",
        base_url=server.base_url,
        api_key_env=None,
        dialect=dialect,  # type: ignore[arg-type]
    )
    return Gateway(provider, api_key=TEST_KEY, retry=FAST_RETRY)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'journal.db'}") as opened:
        yield opened


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
async def gw(sim: Any, store: Store) -> AsyncIterator[Gateway]:
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1
    async with media_gateway(sim) as gateway:
        yield gateway


@pytest.fixture
async def th_gw(th_sim: Any, store: Store) -> AsyncIterator[Gateway]:
    th_sim.state.media.video_seconds = 0.1
    async with media_gateway(th_sim, "tokenhub") as gateway:
        yield gateway


@pytest.fixture
def media(gw: Gateway, store: Store) -> Media:
    """Jobs on ``gw`` (the AllToken simulator), journaled in the temp store."""
    return Media(gw, store)


@pytest.fixture
def th_media(th_gw: Gateway, store: Store) -> Media:
    """Jobs on ``th_gw`` (the TokenHub simulator), journaled in the temp store."""
    return Media(th_gw, store)


@pytest.fixture
def events() -> list[JobEvent]:
    return []


@pytest.fixture
def records(gw: Gateway) -> list[RequestRecord]:
    seen: list[RequestRecord] = []
    gw.add_observer(seen.append)
    return seen


def wire(server: Any, path: str, method: str = "POST") -> list[Any]:
    """The logged requests to a path (under /v1 or the bucket), oldest first."""
    return [r for r in server.state.requests if r.path == path and r.method == method]

"""The pool's read timeout on a body (gateway/_pool.py ``_Body``): one lazy timer per body
instead of aiohttp's timer re-armed on every packet, failing a silent body the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from alltoken_agent import StreamInterruptedError
from alltoken_agent.config import TimeoutSettings
from alltoken_agent.gateway._pool import AiohttpPool
from tests.gateway.helpers import TEST_KEY, gateway_for, user

FAULT = "X-Sim-Fault"


@asynccontextmanager
async def streamed(sim: Any, fault: str, read: float) -> AsyncIterator[httpx.Response]:
    """A streamed chat reply from the simulator through the bare pool (no gateway deadlines)."""
    timeout = httpx.Timeout(5.0, read=read)
    async with httpx.AsyncClient(transport=AiohttpPool(), timeout=timeout) as client:
        request = client.build_request(
            "POST",
            sim.base_url + "/chat/completions",
            json={"model": "minimax-m2.7", "messages": user("hi"), "stream": True},
            headers={"Authorization": f"Bearer {TEST_KEY}", FAULT: fault},
        )
        response = await client.send(request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()


def _aiohttp_read_timers(loop: asyncio.AbstractEventLoop) -> list[Any]:
    """aiohttp's per-packet read timers pending on ``loop``."""
    return [
        handle
        for handle in getattr(loop, "_scheduled", [])
        if not handle.cancelled()
        and getattr(handle._callback, "__name__", "") == "_on_read_timeout"
    ]


async def test_a_body_is_read_without_aiohttps_per_packet_timer(sim: Any) -> None:
    """aiohttp re-armed its timer on every packet; the body keeps one lazy timer instead."""
    loop = asyncio.get_running_loop()
    async with streamed(sim, "trickle:0.02", read=30.0) as response:
        pieces = response.aiter_raw()
        for _ in range(5):
            assert await pieces.__anext__()
            assert _aiohttp_read_timers(loop) == []


async def test_a_silent_body_fails_with_a_read_timeout(sim: Any) -> None:
    async with streamed(sim, "stall:2:5", read=0.3) as response:
        with pytest.raises(httpx.ReadTimeout):
            async for _ in response.aiter_raw():
                pass


async def test_a_body_that_never_pauses_for_the_read_timeout_is_not_cut_off(sim: Any) -> None:
    """Words 0.05 s apart for several read timeouts in all: the lazy timer moves on."""
    words = 0
    async with streamed(sim, "trickle:0.05", read=0.5) as response:
        async for piece in response.aiter_raw():
            words += piece.count(b"data:")
            if words >= 40:
                break
    assert words >= 40


async def test_bytes_waiting_for_a_late_reader_are_not_a_read_timeout(sim: Any) -> None:
    """The timeout measures the gateway, not a reader busy elsewhere while bytes came in."""
    async with streamed(sim, "trickle:0.02", read=0.2) as response:
        pieces = response.aiter_raw()
        assert await pieces.__anext__()
        await asyncio.sleep(0.6)  # the reader is away three read timeouts; the words pile up
        assert await pieces.__anext__()
        assert await pieces.__anext__()


async def test_a_head_that_never_comes_is_still_a_read_timeout(sim: Any) -> None:
    with pytest.raises(httpx.ReadTimeout):
        async with streamed(sim, "slow:3", read=0.3):
            pass


async def test_a_stall_without_gateway_deadlines_ends_in_the_same_stream_timeout(
    sim: Any,
) -> None:
    """No idle or total deadline: the read timeout alone cuts a silent gateway off."""
    timeouts = TimeoutSettings(connect=2, read=0.3, idle=None, total=None)
    async with gateway_for(sim, timeout=timeouts) as gateway:
        with pytest.raises(StreamInterruptedError) as caught:
            await gateway.stream(user("hi"), extra_headers={FAULT: "stall:3:5"}).collect()
    assert caught.value.code == "stream_timeout"

"""The one request path (`Gateway.request`, `_transport.translate`) that every call takes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alltoken_agent import ConflictError, GatewayConnectionError, GatewayError, GatewayTimeoutError
from alltoken_agent.gateway._transport import translate
from alltoken_agent.media._wire import call
from tests.gateway.helpers import TEST_KEY, gateway_for

IMAGE = {"model": "gpt-image-2", "prompt": "a red fox"}


def _redact(text: str) -> str:
    return text.replace(TEST_KEY, "sk-...")


@pytest.mark.parametrize(
    ("exc", "cls", "delivered", "words"),
    [
        (httpx.ConnectError("refused"), GatewayConnectionError, False, "cannot reach"),
        (httpx.UnsupportedProtocol("ftp"), GatewayConnectionError, False, "cannot reach"),
        (httpx.ConnectTimeout("slow"), GatewayTimeoutError, False, "no answer"),
        (httpx.PoolTimeout("busy"), GatewayTimeoutError, False, "no answer"),
        (httpx.ReadTimeout("quiet"), GatewayTimeoutError, True, "no answer"),
        (httpx.RemoteProtocolError("dropped"), GatewayConnectionError, True, "broke before"),
        (httpx.WriteError("reset"), GatewayConnectionError, True, "broke before"),
    ],
)
def test_one_translator_says_whether_the_request_may_have_reached_the_gateway(
    exc: httpx.HTTPError, cls: type[GatewayError], delivered: bool, words: str
) -> None:
    error = translate(exc, "http://gw/v1", _redact)
    assert type(error) is cls
    assert error.maybe_delivered is delivered
    assert words in error.message


def test_the_translator_masks_the_key_an_exception_carries() -> None:
    error = translate(httpx.RemoteProtocolError(f"peer said {TEST_KEY}"), "http://gw", _redact)
    assert TEST_KEY not in str(error) and "sk-..." in error.message


def test_a_read_past_the_idle_deadline_is_an_idle_timeout() -> None:
    error = translate(httpx.ReadTimeout("quiet"), "http://gw", _redact, idle_read=2.0)
    assert (error.code, error.maybe_delivered) == ("idle_timeout", True)


async def test_a_redirected_media_submit_is_an_error_not_a_submitted_job(sim: Any) -> None:
    """A 307 on a keyed request was once taken as a 2xx by media's own loop."""
    sim.state.enqueue_faults(["redirect"])
    async with gateway_for(sim) as gateway:
        with pytest.raises(GatewayError) as caught:
            await call(gateway, "POST", "images/generations/async", json=IMAGE)
    assert (caught.value.code, caught.value.status) == ("redirected", 307)
    assert len(sim.state.requests) == 1


async def test_a_submit_without_a_dedupe_key_is_not_sent_again_after_a_lost_answer(
    sim: Any,
) -> None:
    sim.state.enqueue_faults(["accept_then_drop"])
    async with gateway_for(sim) as gateway:
        with pytest.raises(GatewayConnectionError) as caught:
            await gateway.request("POST", "images/generations/async", json=IMAGE, idempotent=False)
    error = caught.value
    assert (error.attempts, error.maybe_delivered) == (1, True)
    assert "could be billed twice" in error.message
    assert len(sim.state.requests) == 1


async def test_a_submit_with_a_dedupe_key_is_sent_again_after_a_lost_answer(sim: Any) -> None:
    """The repeat reaches the gateway, which names the task the lost try made (§3 row 7)."""
    sim.state.enqueue_faults(["accept_then_drop"])
    retries: list[int] = []
    async with gateway_for(sim) as gateway:
        with pytest.raises(ConflictError) as caught:
            await gateway.request(
                "POST",
                "images/generations/async",
                json=IMAGE,
                headers={"Idempotency-Key": "job-1"},
                on_retry=lambda notice: retries.append(notice.attempt),
            )
    assert caught.value.code == "duplicate_request" and caught.value.task_id
    assert retries == [1] and len(sim.state.requests) == 2

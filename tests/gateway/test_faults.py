"""Every simulator fault, and what the client does about it."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from alltoken_agent import (
    AuthenticationError,
    BadRequestError,
    Gateway,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    Provider,
    RateLimitError,
    RetryNotice,
    StreamInterruptedError,
    UpstreamError,
)
from alltoken_agent.config import TimeoutSettings
from alltoken_agent.gateway import RetryPolicy
from tests.gateway.helpers import gateway_for, user

FAULT = "X-Sim-Fault"


def chat_requests(server: Any) -> list[Any]:
    return [r for r in server.state.requests if r.path.endswith("/chat/completions")]


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("fault", ["429:0", "500", "502", "503"])
async def test_one_transient_failure_is_retried_and_succeeds(
    sim: Any, fault: str, stream: bool
) -> None:
    sim.state.enqueue_faults([fault])
    notices: list[RetryNotice] = []
    async with gateway_for(sim, on_retry=notices.append) as gateway:
        if stream:
            result = await gateway.stream(user("hi")).collect()
        else:
            result = await gateway.chat(user("hi"))
    assert "simulated" in result.text.lower()
    assert len(chat_requests(sim)) == 2
    assert [n.attempt for n in notices] == [1]
    assert notices[0].error.status == int(fault.split(":")[0])


@pytest.mark.slow
async def test_retry_after_header_sets_the_wait(sim: Any) -> None:
    sim.state.enqueue_faults(["429:1"])
    notices: list[RetryNotice] = []
    retry = RetryPolicy(max_retries=1, base_delay=5.0)
    async with gateway_for(sim, retry=retry, on_retry=notices.append) as gateway:
        await gateway.chat(user("hi"))
    assert [n.delay for n in notices] == [1.0]


@pytest.mark.slow
async def test_retry_after_on_a_503_sets_the_wait_too(sim: Any) -> None:
    sim.state.enqueue_faults(["503:1"])
    notices: list[RetryNotice] = []
    retry = RetryPolicy(max_retries=1, base_delay=5.0)
    async with gateway_for(sim, retry=retry, on_retry=notices.append) as gateway:
        result = await gateway.stream(user("hi")).collect()
    assert "simulated" in result.text.lower()
    assert [(n.delay, n.error.code) for n in notices] == [(1.0, "all_providers_failed")]


@pytest.mark.parametrize(
    ("fault", "error_type", "code"),
    [
        ("429:0", RateLimitError, None),
        ("500", UpstreamError, None),
        ("503", UpstreamError, "all_providers_failed"),
        ("html502", UpstreamError, "http_502"),
    ],
)
async def test_persistent_transient_failure_raises_after_the_retries(
    sim: Any, fault: str, error_type: type[GatewayError], code: str | None
) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(error_type) as caught:
            await gateway.stream(user("hi"), extra_headers={FAULT: fault}).collect()
    error = caught.value
    assert error.attempts == 3 and len(chat_requests(sim)) == 3
    assert error.request_id
    if code:
        assert error.code == code
    assert "gave up after 3 attempts" in str(error)


@pytest.mark.parametrize(
    ("fault", "error_type", "status"),
    [
        ("400", BadRequestError, 400),
        ("401", AuthenticationError, 401),
        ("402", PaymentRequiredError, 402),
        ("403", PermissionDeniedError, 403),
        ("404", NotFoundError, 404),
    ],
)
async def test_client_errors_are_raised_at_once_never_retried(
    sim: Any, fault: str, error_type: type[GatewayError], status: int
) -> None:
    sim.state.enqueue_faults([fault])
    async with gateway_for(sim) as gateway:
        with pytest.raises(error_type) as caught:
            await gateway.chat(user("hi"))
    assert caught.value.status == status
    assert caught.value.request_id
    assert len(chat_requests(sim)) == 1


async def test_missing_bearer_key_gets_401_from_the_simulator(sim: Any) -> None:
    provider = Provider(name="nokey", base_url=sim.base_url, api_key_env=None, dialect="alltoken")
    # An explicit base URL needs no key (local servers), so the request goes out bare.
    async with Gateway(provider, base_url=sim.base_url) as gateway:
        with pytest.raises(AuthenticationError) as caught:
            await gateway.chat(user("hi"), model="minimax-m2.7")
    assert caught.value.code == "invalid_api_key"


async def test_disconnect_mid_stream_raises_interrupted_with_partial_text(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        stream = gateway.stream(user("hello there"), extra_headers={FAULT: "disconnect:4"})
        seen: list[str] = []
        with pytest.raises(StreamInterruptedError) as caught:
            async for event in stream:
                if hasattr(event, "text"):
                    seen.append(event.text)
    error = caught.value
    assert error.partial_text == "".join(seen) and seen
    assert "not a complete answer" in str(error)
    assert len(chat_requests(sim)) == 1  # never replayed once streaming started
    assert error.request_id


async def test_disconnect_before_a_non_streamed_reply_is_a_connection_error(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(GatewayConnectionError):
            await gateway.chat(user("hi"), extra_headers={FAULT: "disconnect:0"})
    assert len(chat_requests(sim)) == 3


async def test_malformed_chunk_raises_interrupted(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(StreamInterruptedError) as caught:
            await gateway.stream(user("hi"), extra_headers={FAULT: "malformed:2"}).collect()
    assert caught.value.code == "malformed_chunk"
    assert len(chat_requests(sim)) == 1


async def test_body_that_ends_before_the_finish_raises_interrupted(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(StreamInterruptedError, match="ended before it was finished"):
            await gateway.stream(user("hi"), extra_headers={FAULT: "eof:3"}).collect()


async def test_missing_done_after_a_finished_reply_is_accepted(sim: Any) -> None:
    # The finish chunk proves the text is whole; some hosts omit [DONE].
    async with gateway_for(sim) as gateway:
        result = await gateway.stream(user("hi"), extra_headers={FAULT: "no_done"}).collect()
    assert result.finish_reason == "stop" and "simulated" in result.text.lower()
    assert result.cost is None


async def test_slow_first_byte_times_out_then_a_retry_succeeds(sim: Any) -> None:
    sim.state.enqueue_faults(["slow:1.0"])
    timeouts = TimeoutSettings(connect=2, read=0.3)
    async with gateway_for(sim, timeout=timeouts) as gateway:
        result = await gateway.stream(user("hi")).collect()
    assert result.text
    assert len(chat_requests(sim)) == 2


@pytest.mark.slow
async def test_slow_first_byte_every_time_raises_timeout(sim: Any) -> None:
    timeouts = TimeoutSettings(connect=2, read=0.2)
    retry = RetryPolicy(max_retries=1, base_delay=0)
    async with gateway_for(sim, timeout=timeouts, retry=retry) as gateway:
        with pytest.raises(GatewayTimeoutError) as caught:
            await gateway.chat(user("hi"), extra_headers={FAULT: "slow:0.6"})
    assert caught.value.attempts == 2


async def test_stall_mid_stream_raises_interrupted_not_a_hang(sim: Any) -> None:
    timeouts = TimeoutSettings(connect=2, read=0.3)
    async with gateway_for(sim, timeout=timeouts) as gateway:
        with pytest.raises(StreamInterruptedError) as caught:
            await gateway.stream(user("hi"), extra_headers={FAULT: "stall:3:1.5"}).collect()
    assert caught.value.code == "stream_timeout"
    assert len(chat_requests(sim)) == 1


async def test_unreachable_gateway_is_a_connection_error_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = Provider(
        name="gone", base_url=f"http://127.0.0.1:{port}/v1", api_key_env=None, dialect="openai"
    )
    retry = RetryPolicy(max_retries=1, base_delay=0)
    async with Gateway(provider, api_key="k-unused-1", model="m", retry=retry) as gateway:
        with pytest.raises(GatewayConnectionError) as caught:
            await gateway.chat(user("hi"))
    assert caught.value.attempts == 2
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_unknown_model_is_not_found_and_openai_search_is_503(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(NotFoundError):
            await gateway.chat(user("hi"), model="no-such-model")
        with pytest.raises(UpstreamError) as caught:
            await gateway.chat(user("price of bitcoin"), model="gpt-5.4", enable_search=True)
    assert caught.value.code == "all_providers_failed"

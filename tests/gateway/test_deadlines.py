"""A reply's overall and idle deadlines: keep-alive comments and trickles end, as timeouts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import (
    Config,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    StreamInterruptedError,
    load_config,
)
from alltoken_agent.config import TimeoutSettings
from alltoken_agent.errors import StreamTimeoutError
from alltoken_agent.gateway import RetryPolicy
from tests.cli.helpers import FAST_RETRY_CONFIG, ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.gateway.wire_server import canned_server, http_response, sse

FAULT = "X-Sim-Fault"


async def test_pings_forever_end_in_an_idle_timeout_with_no_answer(sim: Any) -> None:
    """`: ping` comments arrive every 0.05 s: httpx's read timeout never fires, idle does."""
    limits = TimeoutSettings(idle=0.3, total=60.0)
    async with gateway_for(sim, timeout=limits) as gateway:
        stream = gateway.stream(user("hi"), extra_headers={FAULT: "ping_forever"})
        with pytest.raises(StreamTimeoutError) as caught:
            await stream.collect()
    error = caught.value
    assert isinstance(error, StreamInterruptedError)
    assert error.code == "idle_timeout"
    assert error.partial_text == ""
    assert "keep-alive comments do not count" in error.message
    assert "not a complete answer" in error.message


@pytest.mark.slow
async def test_a_word_at_a_time_forever_ends_at_the_total_deadline_with_the_partial_text(
    sim: Any,
) -> None:
    """Data lines every 0.05 s keep the 0.4 s idle deadline away; the total one still ends it."""
    limits = TimeoutSettings(idle=0.4, total=0.8)
    async with gateway_for(sim, timeout=limits) as gateway:
        stream = gateway.stream(user("hi"), extra_headers={FAULT: "trickle:0.05"})
        with pytest.raises(StreamTimeoutError) as caught:
            await stream.collect()
    error = caught.value
    assert error.code == "total_timeout"
    assert "still going" in error.partial_text
    assert f"{len(error.partial_text)} characters had arrived" in error.message
    with pytest.raises(RuntimeError):
        stream.result  # noqa: B018 - the partial text is never offered as the result


@pytest.mark.slow
async def test_a_non_streaming_reply_that_never_finishes_ends_at_the_total_deadline(
    sim: Any,
) -> None:
    limits = TimeoutSettings(total=0.5)
    async with gateway_for(sim, timeout=limits) as gateway:
        with pytest.raises(GatewayTimeoutError) as caught:
            await gateway.chat(user("hi"), extra_headers={FAULT: "ping_forever"})
    assert caught.value.code == "total_timeout"
    assert "0.5 s" in caught.value.message


async def test_the_total_deadline_covers_the_retries(sim: Any) -> None:
    """Three slow tries would take 6 s; the 0.5 s deadline ends the whole request."""
    sim.state.enqueue_faults(["slow:2", "slow:2", "slow:2"])
    retry = RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0)
    limits = TimeoutSettings(read=1.0, total=0.5)
    async with gateway_for(sim, timeout=limits, retry=retry) as gateway:
        with pytest.raises(GatewayTimeoutError) as caught:
            await gateway.stream(user("hi")).collect()
    assert caught.value.code == "total_timeout"


async def test_a_normal_reply_is_untouched_by_the_deadlines(sim: Any) -> None:
    limits = TimeoutSettings(idle=5.0, total=30.0)
    async with gateway_for(sim, timeout=limits) as gateway:
        result = await gateway.stream(user("hi")).collect()
        plain = await gateway.chat(user("hi"))
    assert result.finish_reason == "stop" and result.text
    assert plain.text


async def test_the_config_file_timeouts_reach_the_gateway(sim: Any, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[timeouts]\nidle = 0.3\ntotal = 20\n", encoding="utf-8")
    config = load_config(path)
    assert (config.timeouts.idle, config.timeouts.total) == (0.3, 20.0)
    async with gateway_for(sim, config=config) as gateway:
        with pytest.raises(StreamTimeoutError, match="idle_timeout"):
            await gateway.stream(user("hi"), extra_headers={FAULT: "ping_forever"}).collect()


def test_the_defaults_bound_every_reply() -> None:
    limits = Config().timeouts
    assert limits.idle is not None and limits.total is not None
    assert limits.idle < limits.total


@pytest.mark.slow
def test_chat_idle_timeout_flag_exits_6_and_json_says_incomplete(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    sim.state.enqueue_faults(["ping_forever"])
    args = ["chat", "--base-url", sim.base_url, "--idle-timeout", "0.3", "--json", "hi"]
    result = run_cli(*args, env=env)
    assert result.exit_code == 6, result.stderr
    error = ndjson(result.stdout)[-1]
    assert error["event"] == "error"
    assert error["code"] == "idle_timeout"
    assert error["complete"] is False
    assert not any(e["event"] == "done" for e in ndjson(result.stdout))
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "idle_timeout" in lines[0]


@pytest.mark.slow
def test_chat_timeout_flag_ends_a_trickle_with_exit_6_after_the_partial_text(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    sim.state.enqueue_faults(["trickle:0.05"])
    result = run_cli("chat", "--base-url", sim.base_url, "--timeout", "0.8", "hi", env=env)
    assert result.exit_code == 6, result.stderr
    assert "still going" in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "total_timeout" in lines[0]
    assert "not a complete answer" in lines[0]


async def test_a_cancel_from_the_caller_stays_a_cancel(sim: Any) -> None:
    """The idle timer cancels only its own reads; the caller's own timeout is not turned
    into a deadline error."""
    limits = TimeoutSettings(idle=30.0, total=60.0)
    async with gateway_for(sim, timeout=limits) as gateway:
        stream = gateway.stream(user("hi"), extra_headers={FAULT: "ping_forever"})
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(stream.collect(), 0.3)
        # The gateway is still usable afterwards.
        result = await gateway.stream(user("hi")).collect()
    assert result.finish_reason == "stop"


async def test_retrying_ends_at_the_total_deadline_across_its_tries(sim: Any) -> None:
    """``Gateway.retrying`` (downloads): the tries and the sleeps between share one deadline,
    and a try cut off in flight may have reached the host."""
    tries = 0

    async def attempt() -> str | GatewayError:
        nonlocal tries
        tries += 1
        if tries == 1:
            refused = GatewayConnectionError("cannot reach the host")
            refused.maybe_delivered = False
            return refused
        await asyncio.sleep(30)  # the second try hangs
        return "never"

    retry = RetryPolicy(max_retries=5, base_delay=0.01, max_delay=0.01)
    loop = asyncio.get_running_loop()
    async with gateway_for(sim, timeout=TimeoutSettings(total=0.4), retry=retry) as gateway:
        with pytest.raises(GatewayTimeoutError) as caught:
            await gateway.retrying(attempt, where="the download of x")
        assert _deadline_timers(loop) == []
    error = caught.value
    assert error.code == "total_timeout"
    assert "the download of x took longer than 0.4 s, retries included" in error.message
    assert error.attempts == 2
    assert error.maybe_delivered is True


async def test_a_cancel_from_the_caller_inside_retrying_stays_a_cancel(sim: Any) -> None:
    async def hang() -> str | GatewayError:
        await asyncio.sleep(30)
        return "never"

    async def answer() -> str | GatewayError:
        return "ok"

    loop = asyncio.get_running_loop()
    async with gateway_for(sim, timeout=TimeoutSettings(total=60.0)) as gateway:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(gateway.retrying(hang, where="x"), 0.2)
        assert await gateway.retrying(answer, where="x") == "ok"
        assert _deadline_timers(loop) == []


def _deadline_timers(loop: asyncio.AbstractEventLoop) -> list[Any]:
    return [
        handle
        for handle in getattr(loop, "_scheduled", [])
        if not handle.cancelled()
        and type(getattr(handle._callback, "__self__", None)).__name__ == "ReplyClock"
    ]


async def test_a_total_deadline_passed_while_the_caller_was_busy_ends_the_next_read() -> None:
    """The bytes are all there already, so no read waits for the timer: the read says it."""
    body = sse(
        'data: {"choices":[{"index":0,"delta":{"content":"one"}}]}',
        'data: {"choices":[{"index":0,"delta":{"content":"two"}}]}',
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        "data: [DONE]",
    )
    reply = http_response(200, {"Content-Type": "text/event-stream"}, body)
    async with canned_server(reply) as url:
        async with gateway_for(_At(url), timeout=TimeoutSettings(total=0.3)) as gateway:
            stream = gateway.stream(user("hi"))
            with pytest.raises(StreamTimeoutError) as caught:
                async for _ in stream:
                    await asyncio.sleep(0.4)  # the caller busy past the deadline
    assert caught.value.code == "total_timeout"


class _At:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

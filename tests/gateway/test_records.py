"""Request records handed to observers (what the ledger and tracing build on)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alltoken_agent import RateLimitError, RequestRecord, StreamInterruptedError, request_tags
from tests.gateway.helpers import gateway_for, user


async def test_chat_and_stream_each_produce_one_record_with_usage_cost_and_tags(sim: Any) -> None:
    records: list[RequestRecord] = []
    async with gateway_for(sim) as gateway:
        gateway.add_observer(records.append)
        with request_tags(session="s1", agent=None):
            await gateway.chat(user("hi"))
            await gateway.stream(user("hello there"), thinking=True).collect()
    plain, streamed = records
    assert (plain.kind, plain.stream, plain.outcome) == ("chat", False, "ok")
    assert plain.usage is not None and plain.usage.total_tokens > 0
    assert plain.request_id == sim.state.requests[0].request_id
    assert plain.tags == {"session": "s1"}
    assert streamed.stream and streamed.cost is not None and streamed.cost.amount > 0
    assert streamed.ttft is not None and streamed.latency is not None
    assert 0 <= streamed.ttft <= streamed.latency
    assert plain.model == "minimax-m2.7" and plain.provider == "sim-alltoken"
    assert plain.started_at.tzinfo is not None


async def test_failures_record_the_error_code_and_attempts(sim: Any) -> None:
    records: list[RequestRecord] = []
    async with gateway_for(sim) as gateway:
        gateway.add_observer(records.append)
        with pytest.raises(RateLimitError):
            await gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": "429:0"}).collect()
        with pytest.raises(StreamInterruptedError):
            await gateway.stream(
                user("hi"), extra_headers={"X-Sim-Fault": "disconnect:2"}
            ).collect()
    limited, broken = records
    assert (limited.outcome, limited.status, limited.attempts) == ("rate_limit_exceeded", 429, 3)
    assert broken.outcome == "stream_interrupted" and broken.usage is None


async def test_abandoned_stream_is_recorded_as_cancelled(sim: Any) -> None:
    records: list[RequestRecord] = []
    async with gateway_for(sim) as gateway:
        gateway.add_observer(records.append)
        async with gateway.stream(user("hello there")) as stream:
            async for _ in stream:
                break
    assert [r.outcome for r in records] == ["cancelled"]


async def test_tags_follow_tasks_and_do_not_leak_out_of_the_block(sim: Any) -> None:
    records: list[RequestRecord] = []
    async with gateway_for(sim) as gateway:
        gateway.add_observer(records.append)

        async def tagged(name: str) -> None:
            with request_tags(session=name):
                await gateway.chat(user("hi"))

        await asyncio.gather(tagged("a"), tagged("b"))
        await gateway.chat(user("hi"))
    assert sorted(r.tags.get("session", "-") for r in records) == ["-", "a", "b"]


async def test_a_failing_observer_never_breaks_the_request(
    sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(record: RequestRecord) -> None:
        raise RuntimeError("observer bug")

    async with gateway_for(sim) as gateway:
        gateway.add_observer(broken)
        result = await gateway.chat(user("hi"))
        gateway.remove_observer(broken)
    assert result.text and "observer bug" in caplog.text

"""Usage and cost tell the truth: missing or invalid accounting stays unknown, with a reason.

Every case goes over loopback HTTP to the simulator, whose `no_usage_done`,
`bad_cost:VALUE` and `bad_usage:FIELD=VALUE` faults produce the hostile bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent import Config, RequestRecord, StreamInterruptedError
from alltoken_agent.gateway.accounting import USAGE_MISSING
from tests.gateway.helpers import gateway_for, user

FAULT = "X-Sim-Fault"

BAD_COSTS = [
    "-1",
    '"-0.5"',
    "NaN",
    '"NaN"',
    "Infinity",
    "-Infinity",
    "1e999999999",
    '"1e999999999"',
    '"101"',
    "null",
    "true",
    '"lots"',
    "lots",  # not JSON at all: the comment cannot be read
    '"1_000"',  # Python reads it, a wire amount is plain digits
    '"0x10"',
    "1" + "0" * 150,  # an integer too long for a sane amount
    "[1]",
    "{}",
]

BAD_USAGE = [
    "prompt_tokens=-5",
    "completion_tokens=1.5",
    "completion_tokens=3.0",
    'total_tokens="lots"',
    "prompt_tokens=null",
    "completion_tokens=true",
    "prompt_tokens=NaN",
    "prompt_tokens=1e999999999",
    "prompt_tokens=99999999999",
    "prompt_tokens_details.cached_tokens=-1",
    'completion_tokens_details.reasoning_tokens="x"',
    "prompt_tokens_details=7",
]


async def _stream(sim: Any, fault: str, **kwargs: Any) -> tuple[Any, list[RequestRecord]]:
    records: list[RequestRecord] = []
    async with gateway_for(sim, **kwargs) as gateway:
        gateway.add_observer(records.append)
        result = await gateway.stream(user("hi"), extra_headers={FAULT: fault}).collect()
    return result, records


@pytest.mark.parametrize("dialect", ["alltoken", "tokenhub"])
async def test_a_stream_ending_after_its_finish_without_usage_or_done_has_unknown_usage(
    sim: Any, th_sim: Any, dialect: str
) -> None:
    server = sim if dialect == "alltoken" else th_sim
    records: list[RequestRecord] = []
    async with gateway_for(server, dialect=dialect) as gateway:
        gateway.add_observer(records.append)
        result = await gateway.stream(user("hi"), extra_headers={FAULT: "no_usage_done"}).collect()
    assert result.finish_reason == "stop" and "simulated" in result.text.lower()
    assert result.usage is None and result.cost is None
    assert result.notices == (USAGE_MISSING,)
    assert "without its usage and [DONE]" in USAGE_MISSING.message
    (record,) = records
    assert record.outcome == "ok" and record.usage is None and record.cost is None
    assert record.extra["usage_unknown"] == "usage_missing"


async def test_the_same_stream_with_its_usage_has_no_notice(sim: Any) -> None:
    result, records = await _stream(sim, "no_done")  # usage chunk, then no [DONE]
    assert result.usage is not None and result.usage.prompt_tokens > 0
    assert result.notices == ()
    assert "usage_unknown" not in records[0].extra


async def test_a_stream_with_neither_finish_nor_done_is_still_an_error(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(StreamInterruptedError):
            await gateway.stream(user("hi"), extra_headers={FAULT: "eof:2"}).collect()


@pytest.mark.slow
@pytest.mark.parametrize("value", BAD_COSTS)
async def test_an_invalid_cost_comment_is_unknown_never_as_sent(sim: Any, value: str) -> None:
    result, records = await _stream(sim, f"bad_cost:{value}")
    assert result.cost is None
    assert result.usage is not None and result.usage.completion_tokens > 0  # usage was fine
    (notice,) = result.notices
    assert notice.code == "cost_invalid" and "recorded as unknown" in notice.message
    if value not in ("null", "true"):  # words the message uses itself
        assert value.strip('"') not in notice.message  # never echoes the gateway's bytes
    (record,) = records
    assert record.cost is None and record.extra["cost_unknown"] == "cost_invalid"
    # What the simulator sent really was the bad value, verbatim.
    assert sim.state.requests[-1].fault == f"bad_cost:{value}"


async def test_a_cost_comment_without_a_cost_is_no_notice_and_a_valid_one_is_kept(
    sim: Any,
) -> None:
    result, _ = await _stream(sim, 'bad_cost:"0.0000188000"')
    assert result.cost is not None and result.cost.amount == Decimal("0.0000188000")
    assert result.notices == ()


async def test_a_negative_zero_cost_is_zero(sim: Any) -> None:
    result, _ = await _stream(sim, 'bad_cost:"-0.0"')
    assert result.cost is not None and format(result.cost.amount, "f") == "0.0"
    assert result.notices == ()


async def test_the_cost_bound_comes_from_the_config(sim: Any) -> None:
    strict = Config.model_validate({"ledger": {"max_request_cost_usd": "0.000000001"}})
    result, records = await _stream(sim, "bad_cost:0.5")
    assert result.cost is not None and result.cost.amount == Decimal("0.5")  # under 100 USD
    async with gateway_for(sim, config=strict) as gateway:
        gateway.add_observer(records.append)
        result = await gateway.stream(user("hi")).collect()
    assert result.cost is None and result.notices[0].code == "cost_invalid"
    assert "0.000000001 USD" in result.notices[0].message
    assert records[-1].extra["cost_unknown"] == "cost_invalid"


@pytest.mark.slow
@pytest.mark.parametrize("spec", BAD_USAGE)
@pytest.mark.parametrize("stream", [True, False])
async def test_an_invalid_usage_field_makes_the_usage_unknown(
    sim: Any, spec: str, stream: bool
) -> None:
    records: list[RequestRecord] = []
    async with gateway_for(sim) as gateway:
        gateway.add_observer(records.append)
        headers = {FAULT: f"bad_usage:{spec}"}
        if stream:
            result = await gateway.stream(user("hi"), extra_headers=headers).collect()
        else:
            result = await gateway.chat(user("hi"), extra_headers=headers)
    assert result.text and result.finish_reason == "stop"
    assert result.usage is None
    (notice,) = result.notices
    assert notice.code == "usage_invalid" and "recorded as unknown" in notice.message
    assert spec.split(".")[0].split("=")[0] in notice.message  # names the field
    (record,) = records
    assert record.usage is None and record.outcome == "ok"
    assert record.extra["usage_unknown"] == "usage_invalid"
    if stream:
        assert result.cost is not None  # the cost comment was fine


async def test_valid_usage_counts_are_kept(sim: Any) -> None:
    result, _ = await _stream(sim, "bad_usage:prompt_tokens_details.cached_tokens=3")
    assert result.usage is not None and result.usage.cached_tokens == 3
    assert result.notices == ()


@pytest.mark.parametrize("stream", [True, False])
async def test_a_count_too_long_for_python_is_unknown_usage_not_a_failure(
    sim: Any, stream: bool
) -> None:
    # json.loads refuses integers of over 4300 digits, as it refuses text that is not JSON.
    sim.state.enqueue_faults(["bad_usage:prompt_tokens=" + "9" * 5000])
    async with gateway_for(sim) as gateway:
        if stream:
            result = await gateway.stream(user("hi")).collect()
        else:
            result = await gateway.chat(user("hi"))
    assert result.text and result.finish_reason == "stop"
    assert result.usage is None
    assert [n.code for n in result.notices] == ["usage_invalid"]

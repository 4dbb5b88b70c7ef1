"""The accounting faults: `no_usage_done`, `bad_cost:VALUE`, `bad_usage:FIELD=VALUE`.

Read with plain httpx, so what is checked is the bytes on the wire.
"""

from __future__ import annotations

import json

import httpx
import pytest

from alltoken_agent.simulator import FAULT_HEADER
from alltoken_agent.simulator.faults import FaultSpecError, parse_fault

from .helpers import chat

STREAM = chat("gpt-5.4-nano", stream=True, stream_options={"include_usage": True})


def _lines(client: httpx.Client, spec: str) -> list[str]:
    response = client.post("/chat/completions", json=STREAM, headers={FAULT_HEADER: spec})
    assert response.status_code == 200
    return [line for line in response.text.splitlines() if line]


def test_no_usage_done_ends_after_the_finish_chunk(client: httpx.Client) -> None:
    lines = _lines(client, "no_usage_done")
    last = json.loads(lines[-1].removeprefix("data: "))
    assert last["choices"][0]["finish_reason"] == "stop"
    assert "data: [DONE]" not in lines
    assert not [line for line in lines if line.startswith(":")]  # no cost comment
    assert all(json.loads(line[6:]).get("usage") is None for line in lines)


@pytest.mark.parametrize("value", ["NaN", "-1", "1e999999999", '"lots"', "null", "Infinity"])
def test_bad_cost_puts_the_value_in_the_cost_comment_verbatim(
    client: httpx.Client, value: str
) -> None:
    lines = _lines(client, f"bad_cost:{value}")
    assert lines[-2] == "data: [DONE]"
    assert lines[-1].startswith(': {"cost":' + value + ",")


def test_bad_usage_puts_the_value_in_the_usage_chunk_verbatim(client: httpx.Client) -> None:
    lines = _lines(client, "bad_usage:prompt_tokens_details.cached_tokens=NaN")
    (usage_line,) = [line for line in lines if '"choices":[]' in line]
    assert '"cached_tokens":NaN' in usage_line
    assert json.loads(usage_line[6:])["usage"]["prompt_tokens"] > 0  # the rest is as normal


def test_bad_usage_on_a_non_stream_reply(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", json=chat(), headers={FAULT_HEADER: "bad_usage:prompt_tokens=-7"}
    )
    assert response.status_code == 200
    assert '"prompt_tokens":-7' in response.text
    assert response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    "spec",
    ["bad_cost:", "bad_usage:prompt_tokens", "bad_usage:=1", "bad_usage:a.b.c=1", "bad_cost:a\tb"],
)
def test_malformed_accounting_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault(spec)

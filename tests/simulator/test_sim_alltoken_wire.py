from __future__ import annotations

import json
import re
from decimal import Decimal

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer
from alltoken_agent.simulator.chat import InvalidRequestError, _validate_messages

from .helpers import chat, content_of, data_chunks, events, stream

REQUEST_ID = re.compile(r"^[a-z0-9]{20}$")


def test_stream_line_order_with_usage_and_cost_comment(client: httpx.Client) -> None:
    body = chat("gpt-5.4-nano", stream_options={"include_usage": True})
    response = stream(client, body)
    evs = events(response.text)
    chunks = data_chunks(response.text)

    # role chunk, content chunks, finish chunk, usage chunk, [DONE], cost comment last
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content_chunks = chunks[1:-2]
    assert len(content_chunks) >= 15
    assert all(set(c["choices"][0]["delta"]) == {"content"} for c in content_chunks)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert all(c["usage"] is None for c in chunks[:-1])
    finish = chunks[-2]
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == len(content_chunks)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    assert evs[-2] == "data: [DONE]"
    assert evs[-1].startswith(": {")
    assert len(evs) == len(chunks) + 2

    # every chunk shares id/created/model; ids are chatcmpl-...
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {"gpt-5.4-nano"}

    # the cost comment: 10-dp decimal strings, per-1K prices, exact arithmetic
    cost = json.loads(evs[-1][2:])
    assert list(cost) == [
        "cost",
        "input_price",
        "output_price",
        "prompt_tokens",
        "completion_tokens",
    ]
    for key in ("cost", "input_price", "output_price"):
        assert re.fullmatch(r"\d+\.\d{10}", cost[key]), cost[key]
    assert cost["input_price"] == "0.0002000000"
    assert cost["output_price"] == "0.0012500000"
    assert cost["prompt_tokens"] == usage["prompt_tokens"]
    assert cost["completion_tokens"] == usage["completion_tokens"]
    expected = (
        cost["prompt_tokens"] * Decimal(cost["input_price"])
        + cost["completion_tokens"] * Decimal(cost["output_price"])
    ) / 1000
    assert Decimal(cost["cost"]) == expected.quantize(Decimal("1E-10"))


def test_cost_comment_reproduces_documented_example(client: httpx.Client) -> None:
    """§1.5: 19 prompt and 12 completion tokens at 0.0002/0.00125 cost 0.0000188000."""
    # 3 messages: ceil(chars/4)+4 each; 15 + 0 + 0 chars... pick content to hit 19 exactly
    messages = [{"role": "user", "content": "x" * 60}]  # ceil(60/4) + 4 = 19
    response = stream(client, chat("gpt-5.4-nano", messages, max_tokens=12))
    cost = json.loads(events(response.text)[-1][2:])
    assert (cost["prompt_tokens"], cost["completion_tokens"]) == (19, 12)
    assert cost["cost"] == "0.0000188000"


def test_without_include_usage_usage_is_null_everywhere(client: httpx.Client) -> None:
    chunks = data_chunks(stream(client, chat()).text)
    assert all("usage" in c and c["usage"] is None for c in chunks)
    assert all(c["choices"] for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_streamed_text_is_labelled_and_deterministic(client: httpx.Client) -> None:
    first = content_of(data_chunks(stream(client, chat()).text))
    second = content_of(data_chunks(stream(client, chat()).text))
    assert first == second
    assert first.startswith("[simulated minimax-m2.7] You said: Hello there, simulator.")
    assert "simulator" in first


@pytest.mark.parametrize(
    ("prompt", "echo"),
    [("What can you do?", "You said: What can you do? This"), ("Hi", "You said: Hi. This")],
)
def test_the_echo_ends_the_sentence_once(client: httpx.Client, prompt: str, echo: str) -> None:
    body = client.post(
        "/chat/completions", json=chat(messages=[{"role": "user", "content": prompt}])
    )
    assert echo in body.json()["choices"][0]["message"]["content"]


def test_non_stream_body_shape(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat("claude-haiku-4-5"))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "claude-haiku-4-5"
    assert body["service_tier"] == "default"
    assert REQUEST_ID.match(body["x-gateway-request-id"])
    assert body["x-gateway-request-id"] == response.headers["x-gateway-request-id"]
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("[simulated claude-haiku-4-5]")
    assert "tool_calls" not in choice["message"]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert set(usage["prompt_tokens_details"]) >= {"cached_tokens"}
    assert set(usage["completion_tokens_details"]) >= {"reasoning_tokens"}


def test_gateway_headers_on_success_and_error(client: httpx.Client, sim: SimulatorServer) -> None:
    ok = client.post("/chat/completions", json=chat())
    bad = client.post("/chat/completions", json=chat("no-such-model"))
    for response in (ok, bad):
        assert REQUEST_ID.match(response.headers["x-gateway-request-id"])
        assert response.headers["x-ratelimit-limit"] == "600"
        assert int(response.headers["x-ratelimit-remaining"]) < 600
        assert int(response.headers["x-ratelimit-reset"]) > 1_700_000_000
    assert ok.headers["x-gateway-request-id"] != bad.headers["x-gateway-request-id"]
    assert bad.json()["error"]["request_id"] == bad.headers["x-gateway-request-id"]
    assert [r.request_id for r in sim.state.requests] == [
        ok.headers["x-gateway-request-id"],
        bad.headers["x-gateway-request-id"],
    ]


def test_request_ids_restart_after_reset(client: httpx.Client, sim: SimulatorServer) -> None:
    first = client.post("/chat/completions", json=chat()).headers["x-gateway-request-id"]
    sim.state.reset()
    again = client.post("/chat/completions", json=chat()).headers["x-gateway-request-id"]
    assert first == again


def test_max_tokens_truncates_with_length(client: httpx.Client) -> None:
    chunks = data_chunks(
        stream(client, chat(max_tokens=3, stream_options={"include_usage": True})).text
    )
    assert len([c for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]]) == 4
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    body = client.post("/chat/completions", json=chat(max_tokens=2)).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["choices"][0]["message"]["content"] == "[simulated minimax-m2.7]"


def test_stop_sequence_cuts_the_reply(client: httpx.Client) -> None:
    body = client.post("/chat/completions", json=chat(stop=["You said"])).json()
    assert body["choices"][0]["message"]["content"] == "[simulated minimax-m2.7] "
    assert body["choices"][0]["finish_reason"] == "stop"


def test_thinking_streams_reasoning_before_content(client: httpx.Client) -> None:
    for thinking in (True, {"type": "enabled"}):
        chunks = data_chunks(stream(client, chat(thinking=thinking)).text)
        kinds = [next(iter(c["choices"][0]["delta"]), "finish") for c in chunks[1:]]
        first_content = kinds.index("content")
        assert kinds[:first_content] == ["reasoning_content"] * first_content
        assert first_content >= 3
        assert "reasoning_content" not in kinds[first_content:]
        assert content_of(chunks, "reasoning_content").startswith("Simulated reasoning:")


def test_thinking_non_stream_and_disabled(client: httpx.Client) -> None:
    on = client.post("/chat/completions", json=chat(thinking=True)).json()
    message = on["choices"][0]["message"]
    assert message["reasoning_content"].startswith("Simulated reasoning:")
    reasoning = on["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning == len(message["reasoning_content"].split())
    for off in (False, {"type": "disabled"}):
        body = client.post("/chat/completions", json=chat(thinking=off)).json()
        assert "reasoning_content" not in body["choices"][0]["message"]
        assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


def test_auth_required(sim: SimulatorServer) -> None:
    with httpx.Client(base_url=sim.base_url, trust_env=False) as anonymous:
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
            response = anonymous.post("/chat/completions", json=chat(), headers=headers)
            assert response.status_code == 401
            error = response.json()["error"]
            assert error["code"] == "invalid_api_key"
            assert error["type"] == "auth_error"
            assert error["param"] is None
            assert REQUEST_ID.match(error["request_id"])
        ok = anonymous.post("/chat/completions", json=chat(), headers={"Authorization": "Bearer x"})
        assert ok.status_code == 200


def test_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat("gpt-9-imaginary"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "upstream_model_not_found"
    # AllToken takes exact ids only; the provider prefix is a TokenHub form.
    prefixed = client.post("/chat/completions", json=chat("alibaba/deepseek-v3.2"))
    assert prefixed.status_code == 404


@pytest.mark.invalid_requests_expected
def test_invalid_requests_are_400_with_param(client: httpx.Client) -> None:
    cases = [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": 5, "messages": []}, "model"),
        ({"model": "glm-5"}, "messages"),
        ({"model": "glm-5", "messages": "hi"}, "messages"),
        ({"model": "glm-5", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        (
            {"model": "glm-5", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        (chat(max_tokens=0), "max_tokens"),
        (chat(stream="yes"), "stream"),
        (chat(thinking="on"), "thinking"),
        (chat(tools=[{"type": "function"}]), "tools[0].function"),
        (chat(tool_choice="sometimes"), "tool_choice"),
        (chat(response_format={"type": "yaml"}), "response_format.type"),
    ]
    for body, param in cases:
        response = client.post("/chat/completions", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_request", param), body
    not_json = client.post(
        "/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["error"]["code"] == "invalid_request"


def test_media_model_cannot_chat(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat("gpt-image-2"))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"


def test_unknown_route_is_json_404(client: httpx.Client) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("message", "param", "text"),
    [
        ("hi", "messages[1]", "messages[1] must be an object"),
        (
            {"role": "robot", "content": "x"},
            "messages[1].role",
            "messages[1].role must be one of ['assistant', 'developer', 'system', 'tool', 'user']",
        ),
        (
            {"role": "user", "content": None},
            "messages[1].content",
            "messages[1].content must be a string or an array of parts",
        ),
        (
            {"role": "tool", "content": "x"},
            "messages[1].tool_call_id",
            "tool messages need tool_call_id",
        ),
        (
            {"role": "assistant", "content": None, "tool_calls": {}},
            "messages[1].tool_calls",
            "tool_calls must be an array",
        ),
    ],
)
def test_a_broken_message_among_good_ones_is_named_with_its_index(
    message: object, param: str, text: str
) -> None:
    # The simulator's own checks past the spec's, which a long history runs per message.
    good = {"role": "user", "content": "fine"}
    with pytest.raises(InvalidRequestError) as raised:
        _validate_messages([good, message, good])
    assert (raised.value.param, str(raised.value)) == (param, text)
    _validate_messages([good, {"role": "assistant", "content": None}] * 3)  # all fine

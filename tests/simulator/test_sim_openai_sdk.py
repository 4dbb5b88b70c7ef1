"""The official openai SDK, unchanged, against the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from alltoken_agent.simulator import SimulatorServer

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_current_time",
            "description": "Current time in an IANA timezone.",
            "parameters": {
                "type": "object",
                "properties": {"timezone": {"type": "string"}},
                "required": ["timezone"],
            },
        },
    }
]


@pytest.fixture(params=["alltoken", "tokenhub"])
def sdk(request: pytest.FixtureRequest) -> Iterator[openai.OpenAI]:
    server: SimulatorServer = request.getfixturevalue(
        "sim" if request.param == "alltoken" else "th_sim"
    )
    client = openai.OpenAI(api_key="sk-sdk-test", base_url=server.base_url, max_retries=0)
    with client:
        yield client


@pytest.mark.slow
def test_sdk_streaming_tool_loop(sdk: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "What time is it in Berlin?"}]
    calls: dict[int, dict[str, str]] = {}
    finish = None
    with sdk.chat.completions.create(
        model="minimax-m2.7", messages=messages, tools=TOOLS, stream=True
    ) as stream:
        for chunk in stream:
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            for fragment in choice.delta.tool_calls or []:
                slot = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                if fragment.id:
                    slot["id"] = fragment.id
                if fragment.function and fragment.function.name:
                    slot["name"] = fragment.function.name
                if fragment.function and fragment.function.arguments:
                    slot["arguments"] += fragment.function.arguments
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    (call,) = calls.values()
    assert call["name"] == "get_current_time"
    assert json.loads(call["arguments"]) == {"timezone": "Europe/Berlin"}

    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            ],
        }
    )
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": "09:30 CEST"})
    text = ""
    with sdk.chat.completions.create(
        model="minimax-m2.7", messages=messages, tools=TOOLS, stream=True
    ) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
    assert text == "(simulated) get_current_time returned: 09:30 CEST."


def test_sdk_stream_with_usage(sdk: openai.OpenAI) -> None:
    chunks = list(
        sdk.chat.completions.create(
            model="glm-5",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage.completion_tokens == len(text.split())


def test_sdk_non_streaming(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Say hello"}]
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "stop"
    content = completion.choices[0].message.content
    assert content is not None and content.startswith("[simulated claude-sonnet-4-6]")
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_sdk_sees_errors_as_its_own_exceptions(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(
            model="glm-5",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"X-Sim-Fault": "429:none"},
        )


def test_sdk_models_list(sdk: openai.OpenAI) -> None:
    ids = {model.id for model in sdk.models.list()}
    assert {"gpt-5.4", "minimax-m2.7", "gpt-image-2"} <= ids


@pytest.mark.parametrize("model_id", ["gpt-5.4", "seedance-2.0"])
def test_sdk_models_retrieve(sim: SimulatorServer, model_id: str) -> None:
    with openai.OpenAI(api_key="sk-sdk-test", base_url=sim.base_url, max_retries=0) as sdk:
        model = sdk.models.retrieve(model_id)
    assert model.id == model_id and model.object in ("model", "video")
    listed = next(m for m in sim.state.requests if m.path == f"/v1/models/{model_id}")
    assert listed.has_auth and listed.status == 200


def test_sdk_models_retrieve_on_tokenhub_takes_a_prefixed_id(th_sim: SimulatorServer) -> None:
    with openai.OpenAI(api_key="sk-sdk-test", base_url=th_sim.base_url, max_retries=0) as sdk:
        model = sdk.models.retrieve("tokenhub/happyhorse-1.0-t2v")
    assert model.id == "happyhorse-1.0-t2v" and model.object == "model"


def test_sdk_models_retrieve_of_an_unknown_id_is_its_not_found(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.models.retrieve("no-such-model")
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "not_found" and body["param"] == "model"

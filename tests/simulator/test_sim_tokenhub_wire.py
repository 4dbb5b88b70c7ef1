from __future__ import annotations

import re

import httpx

from alltoken_agent.simulator import SimulatorServer

from .helpers import assemble_tool_calls, chat, content_of, data_chunks, events, stream, tool

UUID_ID = re.compile(
    r"^chatcmpl-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
NULLS = {"function_call": None, "refusal": None}


def test_tokenhub_stream_format(th_client: httpx.Client) -> None:
    response = stream(th_client, chat("deepseek-v3.2"))
    evs = events(response.text)
    assert evs[-1] == "data: [DONE]", "TokenHub sends no cost comment"
    assert not any(e.startswith(":") for e in evs)
    chunks = data_chunks(response.text)
    assert UUID_ID.match(chunks[0]["id"])
    for chunk in chunks:
        assert chunk["system_fingerprint"] is None
        assert chunk["usage"] is None
        (choice,) = chunk["choices"]
        assert choice["logprobs"] is None
    for chunk in chunks[:-1]:
        delta = chunk["choices"][0]["delta"]
        assert {k: delta[k] for k in NULLS} == NULLS
        assert delta["tool_calls"] is None
        assert delta["role"] == "assistant"
        assert isinstance(delta["content"], str)
    assert chunks[0]["choices"][0]["delta"]["content"] == ""
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "x-ratelimit-limit" not in response.headers
    assert re.fullmatch(r"[a-z0-9]{20}", response.headers["x-gateway-request-id"])


def test_tokenhub_non_stream_format(th_client: httpx.Client) -> None:
    body = th_client.post("/chat/completions", json=chat("deepseek-v3.2")).json()
    assert UUID_ID.match(body["id"])
    assert body["system_fingerprint"] is None
    assert "x-gateway-request-id" not in body
    assert "service_tier" not in body
    (choice,) = body["choices"]
    assert choice["logprobs"] is None
    assert choice["message"]["content"].startswith("[simulated deepseek-v3.2]")
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}


def test_tokenhub_prefixed_model_ids_resolve(th_client: httpx.Client) -> None:
    for model in ("alibaba/deepseek-v3.2", "tokenhub/deepseek-v3.2"):
        response = th_client.post("/chat/completions", json=chat(model))
        assert response.status_code == 200
        assert response.json()["model"] == model
    missing = th_client.post("/chat/completions", json=chat("alibaba/not-a-model"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "upstream_model_not_found"


def test_tokenhub_include_usage_and_tool_calls(th_client: httpx.Client) -> None:
    body = chat(
        "qwen3.6-flash",
        [{"role": "user", "content": 'go [[call lookup {"q": "x"}]]'}],
        tools=[tool("lookup")],
        stream_options={"include_usage": True},
    )
    chunks = data_chunks(stream(th_client, body).text)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    tool_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("tool_calls")]
    assert tool_chunks
    for chunk in tool_chunks:
        delta = chunk["choices"][0]["delta"]
        assert delta["content"] is None
        assert {k: delta[k] for k in NULLS} == NULLS
    assert assemble_tool_calls(chunks)[0]["arguments"] == '{"q": "x"}'


def test_tokenhub_ignores_enable_search(th_client: httpx.Client) -> None:
    for model in ("gpt-5.4", "deepseek-v3.2"):
        response = th_client.post("/chat/completions", json=chat(model, enable_search=True))
        assert response.status_code == 200
        text = response.json()["choices"][0]["message"]["content"]
        assert "[simulated web search]" not in text


def test_tokenhub_has_no_public_catalog(th_sim: SimulatorServer) -> None:
    with httpx.Client(base_url=th_sim.url, trust_env=False) as root:
        assert root.get("/api-account/models").status_code == 404


def test_tokenhub_models_list(th_client: httpx.Client) -> None:
    body = th_client.get("/models").json()
    assert body["object"] == "list"
    ids = {m["id"] for m in body["data"]}
    assert {"deepseek-v3.2", "gpt-image-2", "happyhorse-1.0-t2v"} <= ids
    assert all(m["object"] == "model" for m in body["data"])


def test_tokenhub_streamed_text_matches_non_stream(th_client: httpx.Client) -> None:
    streamed = content_of(data_chunks(stream(th_client, chat("glm-5")).text))
    whole = th_client.post("/chat/completions", json=chat("glm-5")).json()
    assert streamed == whole["choices"][0]["message"]["content"]

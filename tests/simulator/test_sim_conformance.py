"""What the AllToken-dialect simulator answers validates against AllToken's own models.

The official `alltoken` package ships the gateway's OpenAPI schema as pydantic classes
(`alltoken.generated.chat`); they are the oracle here, so a shape the real gateway
would never send (an int where the spec has an object) fails this file. Every route the
simulator serves in AllToken's dialect is checked: chat (JSON and the usage of a
stream), the three model lists, image and video tasks in each state, uploads, and the
error envelope.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from alltoken.generated import chat as spec
from pydantic import BaseModel

from tests.simulator.helpers import chat, data_chunks, stream
from tests.simulator.media_helpers import (
    image_body,
    job_fault,
    png_bytes,
    poll_until,
    presign_body,
    video_body,
)


def conforms(model: type[BaseModel], body: Any) -> BaseModel:
    """Validate in strict JSON mode, so a string where the spec wants a number fails."""
    return model.model_validate_json(json.dumps(body))


def test_chat_completion_conforms(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat())
    assert response.status_code == 200
    parsed = conforms(spec.ChatCompletionResponse, response.json())
    assert isinstance(parsed, spec.ChatCompletionResponse)
    assert parsed.choices and parsed.usage is not None


def test_chat_completion_with_tool_calls_conforms(client: httpx.Client) -> None:
    body = chat(
        messages=[{"role": "user", "content": 'Add. [[call add {"a": 1, "b": 2}]]'}],
        tools=[
            {
                "type": "function",
                "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
            }
        ],
    )
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 200
    parsed = conforms(spec.ChatCompletionResponse, response.json())
    assert isinstance(parsed, spec.ChatCompletionResponse)
    message = parsed.choices[0].message
    assert message is not None and message.tool_calls


def test_streamed_usage_conforms(client: httpx.Client) -> None:
    response = stream(client, chat(stream_options={"include_usage": True}))
    usages = [c["usage"] for c in data_chunks(response.text) if c.get("usage")]
    assert len(usages) == 1
    conforms(spec.Usage, usages[0])


@pytest.mark.parametrize("path", ["/models", "/images/models", "/videos/models"])
def test_model_lists_conform(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    listing = conforms(spec.ModelList, response.json())
    assert isinstance(listing, spec.ModelList) and listing.data


def test_every_video_model_capability_conforms(client: httpx.Client) -> None:
    models = client.get("/videos/models").json()["data"]
    assert models
    for model in models:
        capabilities = conforms(spec.VideoCapabilities, model["capabilities"])
        assert isinstance(capabilities, spec.VideoCapabilities)
        content = capabilities.content
        assert content is not None and content.image_count is not None, model["id"]
        assert content.image_count.max is not None


def test_image_task_conforms_in_every_state(client: httpx.Client) -> None:
    created = client.post("/images/generations/async", json=image_body())
    assert created.status_code == 202
    task = conforms(spec.ImageCreateResponse, created.json())
    assert isinstance(task, spec.ImageCreateResponse)
    first = client.get(f"/images/generations/{task.id}")
    assert first.status_code == 200
    if first.json()["status"] != "completed":
        conforms(spec.ImageTaskStatusResponse, first.json())
        first = poll_until(client, f"/images/generations/{task.id}", {"completed"})
    done = conforms(spec.ImageGenerationResponse, first.json())
    assert isinstance(done, spec.ImageGenerationResponse) and done.data


def test_failed_image_task_conforms(client: httpx.Client) -> None:
    created = client.post("/images/generations/async", json=image_body(), headers=job_fault("fail"))
    assert created.status_code == 202
    failed = poll_until(client, f"/images/generations/{created.json()['id']}", {"failed"})
    status = conforms(spec.ImageTaskStatusResponse, failed.json())
    assert isinstance(status, spec.ImageTaskStatusResponse) and status.error is not None


def test_video_task_list_and_cancel_conform(client: httpx.Client) -> None:
    created = client.post("/videos/generations", json=video_body())
    assert created.status_code == 202
    task = conforms(spec.VideoTaskResponse, created.json())
    assert isinstance(task, spec.VideoTaskResponse)
    polled = client.get(f"/videos/generations/{task.id}")
    conforms(spec.VideoTaskResponse, polled.json())
    listing = client.get("/videos/generations", params={"limit": 5})
    assert listing.status_code == 200
    conforms(spec.VideoListResponse, listing.json())
    cancelled = client.post(f"/videos/generations/{task.id}/cancel")
    assert cancelled.status_code == 200
    conforms(spec.VideoTaskResponse, cancelled.json())


@pytest.mark.slow
def test_completed_video_task_conforms(client: httpx.Client) -> None:
    created = client.post("/videos/generations", json=video_body())
    done = poll_until(client, f"/videos/generations/{created.json()['id']}", {"completed"})
    task = conforms(spec.VideoTaskResponse, done.json())
    assert isinstance(task, spec.VideoTaskResponse) and task.status.value == "completed"


def test_upload_presign_conforms(client: httpx.Client) -> None:
    response = client.post("/uploads/presign", json=presign_body(png_bytes()))
    assert response.status_code == 200, response.text
    conforms(spec.MediaUploadPresignResponse, response.json())


@pytest.mark.parametrize("fault_spec", ["400", "401", "402", "404", "429", "500", "503"])
def test_error_envelopes_conform(client: httpx.Client, fault_spec: str) -> None:
    response = client.post("/chat/completions", json=chat(), headers={"X-Sim-Fault": fault_spec})
    assert response.status_code == int(fault_spec)
    envelope = conforms(spec.ErrorResponse, response.json())
    assert isinstance(envelope, spec.ErrorResponse)


def test_every_model_retrieved_by_id_conforms(client: httpx.Client) -> None:
    ids = [m["id"] for m in client.get("/models").json()["data"]]
    assert ids
    for model_id in ids:
        response = client.get(f"/models/{model_id}")
        assert response.status_code == 200, model_id
        info = conforms(spec.ModelInfo, response.json())
        assert isinstance(info, spec.ModelInfo) and info.id == model_id


def test_an_unknown_model_id_is_a_404_envelope(client: httpx.Client) -> None:
    response = client.get("/models/no-such-model")
    assert response.status_code == 404
    envelope = conforms(spec.ErrorResponse, response.json())
    assert isinstance(envelope, spec.ErrorResponse)
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["request_id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api-account/user/api-keys"),
        ("GET", "/api-account/user/usage"),
        ("GET", "/api-account/user/billing"),
        ("GET", "/api-account/user/balance"),
        ("POST", "/api-account/user/api-keys"),
        ("GET", "/api-account/user"),
    ],
)
def test_account_user_routes_refuse_an_api_key(sim: Any, method: str, path: str) -> None:
    """docs/wire-format.md §1.1 and §3 row 13: web-session-only, an API key gets 401."""
    headers = {"Authorization": "Bearer sk-sim-test-0123456789"}
    response = httpx.request(method, sim.url + path, headers=headers, json={}, timeout=5.0)
    assert response.status_code == 401
    conforms(spec.ErrorResponse, response.json())
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("auth_error", "invalid_token")
    assert "sk-sim-test" not in response.text


def test_usage_details_and_service_tier_as_the_skill_documents(client: httpx.Client) -> None:
    body = client.post("/chat/completions", json=chat()).json()
    details = conforms(spec.Usage, body["usage"])
    assert isinstance(details, spec.Usage) and details.prompt_tokens_details is not None
    assert details.prompt_tokens_details.cached_tokens == 0
    assert details.prompt_tokens_details.cache_creation_input_tokens == 0
    assert body["service_tier"] == "default"
    streamed = stream(client, chat(stream_options={"include_usage": True}))
    chunks = data_chunks(streamed.text)
    assert {c.get("service_tier") for c in chunks} == {"default"}
    usage = next(c["usage"] for c in chunks if c.get("usage"))
    assert usage["prompt_tokens_details"]["cache_creation_input_tokens"] == 0

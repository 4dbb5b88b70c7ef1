from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer

from .media_helpers import boxes, decode, decode_b64, fault, job_fault, poll_until

SHAPE_A = {"model": "wanx2.1-t2i-turbo", "prompt": "a lighthouse", "size": "512*384"}
SHAPE_B = {
    "model": "wan2.6-t2i",
    "input": {"messages": [{"role": "user", "content": [{"text": "a lighthouse"}]}]},
    "parameters": {"size": "640*640", "n": 2, "prompt_extend": True, "watermark": False},
}
SHAPE_C = {"model": "tokenhub/gpt-image-2", "prompt": "a lighthouse", "size": "256x128"}
ASYNC = {"X-DashScope-Async": "enable"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def download(url: str) -> httpx.Response:
    response = httpx.get(url, trust_env=False)
    assert response.status_code == 200
    return response


def test_image_shape_a_flat_body_answers_data_urls(th_client: httpx.Client) -> None:
    response = th_client.post("/images/generations", json=SHAPE_A)
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == response.headers["x-gateway-request-id"]
    (item,) = body["data"]
    image = decode(download(item["url"]).content)
    assert (image.format, image.size) == ("PNG", (512, 384))


def test_image_shape_b_dashscope_answers_output_choices(th_client: httpx.Client) -> None:
    response = th_client.post("/images/generations", json=SHAPE_B)
    assert response.status_code == 200
    body = response.json()
    (choice,) = body["output"]["choices"]
    assert body["output"]["finished"] is True
    assert choice["message"]["role"] == "assistant"
    urls = [part["image"] for part in choice["message"]["content"] if part["type"] == "image"]
    assert len(urls) == 2
    assert body["usage"]["image_count"] == 2
    assert body["usage"]["size"] == "640*640"
    assert {decode(download(url).content).size for url in urls} == {(640, 640)}


def test_image_shape_c_b64_by_default_url_on_request(th_client: httpx.Client) -> None:
    b64 = th_client.post("/images/generations", json=SHAPE_C).json()
    assert set(b64["data"][0]) == {"b64_json"}
    assert decode_b64(b64["data"][0]["b64_json"]).size == (256, 128)
    assert set(b64["usage"]) == {"input_tokens", "output_tokens"}
    as_url = {**SHAPE_C, "response_format": "url", "output_format": "jpeg", "n": 2}
    body = th_client.post("/images/generations", json=as_url).json()
    assert len(body["data"]) == 2
    fetched = download(body["data"][0]["url"])
    assert fetched.headers["content-type"] == "image/jpeg"
    assert decode(fetched.content).format == "JPEG"


def test_tokenhub_image_urls_expire(th_client: httpx.Client, th_sim: SimulatorServer) -> None:
    url = th_client.post("/images/generations", json=SHAPE_A).json()["data"][0]["url"]
    th_sim.state.media.advance(86401)
    assert httpx.get(url, trust_env=False).status_code == 403


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({**SHAPE_A, "size": "512x384"}, "size"),
        ({**SHAPE_A, "input": {"messages": []}}, "input"),
        ({"model": "wan2.6-t2i", "prompt": "flat body to a DashScope model"}, "input"),
        ({**SHAPE_B, "parameters": {"size": "9999*9999"}}, "parameters.size"),
        ({**SHAPE_C, "size": "1000x1000"}, "size"),
        ({**SHAPE_C, "response_format": "file"}, "response_format"),
        ({"model": "wan2.6-t2v", "prompt": "a video model"}, "model"),
    ],
)
def test_image_shape_mismatch_is_400(
    th_client: httpx.Client, body: dict[str, Any], param: str
) -> None:
    response = th_client.post("/images/generations", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_alltoken_only_models_are_404_on_tokenhub(th_client: httpx.Client) -> None:
    response = th_client.post("/images/generations", json={**SHAPE_C, "model": "wan2.7-image"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "upstream_model_not_found"
    listed = {m["id"] for m in th_client.get("/images/models").json()["data"]}
    assert listed == {"gpt-image-2", "wanx2.1-t2i-turbo", "wan2.6-t2i"}
    videos = {m["id"] for m in th_client.get("/videos/models").json()["data"]}
    assert videos == {"happyhorse-1.0-t2v", "wan2.6-t2v", "wan2.7-t2v"}


def test_tokenhub_image_fail_job_fault_is_500_and_not_billed(
    th_client: httpx.Client, th_sim: SimulatorServer
) -> None:
    response = th_client.post("/images/generations", json=SHAPE_A, headers=job_fault("fail"))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "upstream_error"
    assert th_sim.state.media.charges == {}


def test_tokenhub_has_no_idempotency_so_a_dropped_retry_bills_twice(
    th_client: httpx.Client, th_sim: SimulatorServer
) -> None:
    key = {"Idempotency-Key": "same"}
    with pytest.raises(httpx.RemoteProtocolError):
        th_client.post(
            "/images/generations", json=SHAPE_A, headers={**key, **fault("accept_then_drop")}
        )
    assert th_client.post("/images/generations", json=SHAPE_A, headers=key).status_code == 200
    assert th_sim.state.media.charges == {"image": 2}


@pytest.mark.slow
def test_video_shape_a_lifecycle(th_client: httpx.Client) -> None:
    body = {"model": "wan2.6-t2v", "prompt": "waves"}
    created = th_client.post("/video/generations", json=body)
    assert created.status_code == 200
    task = created.json()
    assert task["task_status"] == "PENDING"
    assert UUID.match(task["task_id"])
    path = f"/video/tasks/{task['task_id']}"
    seen = poll_until(
        th_client, path, {"SUCCEEDED"}, params={"model": "wan2.6-t2v"}, field="task_status"
    ).json()
    assert seen["task_id"] == task["task_id"]
    video = download(seen["video_url"])
    assert video.headers["content-type"] == "video/mp4"
    assert boxes(video.content)[0] == "ftyp"


def test_video_shape_b_needs_async_header_and_nests_output(
    th_client: httpx.Client, th_sim: SimulatorServer
) -> None:
    body = {
        "model": "wan2.7-t2v",
        "input": {"prompt": "waves"},
        "parameters": {"resolution": "720P", "ratio": "16:9", "duration": 5, "watermark": False},
    }
    refused = th_client.post("/video/generations", json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "X-DashScope-Async"
    created = th_client.post("/video/generations", json=body, headers=ASYNC).json()
    assert created["output"]["task_status"] == "PENDING"
    task_id = created["output"]["task_id"]
    assert UUID.match(task_id)
    running = th_client.get(f"/video/tasks/{task_id}", params={"model": "wan2.7-t2v"}).json()
    assert running["output"]["task_status"] in {"PENDING", "RUNNING"}
    th_sim.state.media.advance(1)
    done = th_client.get(f"/video/tasks/{task_id}", params={"model": "wan2.7-t2v"}).json()
    assert done["output"]["task_status"] == "SUCCEEDED"
    assert done["output"]["video_url"].startswith(th_sim.url)
    assert done["usage"]["video_count"] == 1
    assert done["request_id"]


@pytest.mark.slow
def test_video_shape_c_lower_case_statuses(
    th_client: httpx.Client, th_sim: SimulatorServer
) -> None:
    body = {"model": "tokenhub/happyhorse-1.0-t2v", "prompt": "waves", "duration": 5,
            "width": 1280, "height": 720}  # fmt: skip
    created = th_client.post("/video/generations", json=body).json()
    assert (created["object"], created["status"], created["model"]) == (
        "video.generation.task",
        "pending",
        "tokenhub/happyhorse-1.0-t2v",
    )
    assert created["id"].startswith("task_")
    params = {"model": "tokenhub/happyhorse-1.0-t2v"}
    done = poll_until(th_client, f"/video/tasks/{created['id']}", {"succeeded"}, params=params)
    assert download(done.json()["video_url"]).content[4:8] == b"ftyp"
    assert th_sim.state.media.polls[created["id"]] >= 1


def test_video_poll_model_must_match(th_client: httpx.Client) -> None:
    created = th_client.post(
        "/video/generations", json={"model": "tokenhub/happyhorse-1.0-t2v", "prompt": "x"}
    ).json()
    path = f"/video/tasks/{created['id']}"
    for params in ({"model": "happyhorse-1.0-t2v"}, {"model": "wan2.6-t2v"}, {}):
        response = th_client.get(path, params=params)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "model"
    assert th_client.get("/video/tasks/nope", params={"model": "wan2.6-t2v"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "headers", "status_path", "word"),
    [
        ({"model": "wan2.6-t2v", "prompt": "x"}, {}, ("task_status",), "FAILED"),
        ({"model": "wan2.7-t2v", "input": {"prompt": "x"}}, ASYNC, ("output", "task_status"),
         "FAILED"),
        ({"model": "happyhorse-1.0-t2v", "prompt": "x"}, {}, ("status",), "failed"),
    ],
)  # fmt: skip
def test_video_failure_words(
    th_client: httpx.Client,
    th_sim: SimulatorServer,
    body: dict[str, Any],
    headers: dict[str, str],
    status_path: tuple[str, ...],
    word: str,
) -> None:
    th_sim.state.media.video_seconds = 0
    created = th_client.post(
        "/video/generations", json=body, headers={**headers, **job_fault("fail")}
    ).json()
    task_id = created.get("task_id") or created.get("id") or created["output"]["task_id"]
    polled: Any = th_client.get(f"/video/tasks/{task_id}", params={"model": body["model"]}).json()
    for key in status_path:
        polled = polled[key]
    assert polled == word

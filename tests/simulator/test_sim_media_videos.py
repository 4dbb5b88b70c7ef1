from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer

from .media_helpers import boxes, decode, fault, job_fault, poll_until, video_body

TERMINAL = {"completed", "failed", "expired", "cancelled"}


def create(client: httpx.Client, model: str = "seedance-1.5-pro", **extra: Any) -> dict[str, Any]:
    response = client.post("/videos/generations", json=video_body(model, **extra))
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.slow
def test_create_202_then_queued_processing_completed(client: httpx.Client) -> None:
    task = create(client, resolution="480p", ratio="9:16", duration=6, seed=7)
    assert re.fullmatch(r"vgen_[0-9a-f]{24}", task["id"])
    assert (task["status"], task["is_expired"], task["model"]) == (
        "queued",
        False,
        "seedance-1.5-pro",
    )
    assert (task["duration"], task["resolution"], task["ratio"], task["seed"]) == (
        6,
        "480p",
        "9:16",
        7,
    )
    assert task["input_type"] == "text"
    assert "video_url" not in task
    seen = {task["status"]}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        body = client.get(f"/videos/generations/{task['id']}").json()
        seen.add(body["status"])
        if body["status"] in TERMINAL:
            break
        time.sleep(0.05)
    assert seen == {"queued", "processing", "completed"}
    assert body["usage"]["completion_tokens"] == body["usage"]["total_tokens"] > 0
    assert 0 < body["video_url_ttl"] <= 86400
    assert body["is_expired"] is False
    assert "last_frame_url" not in body
    video = httpx.get(body["video_url"], trust_env=False)
    assert video.headers["content-type"] == "video/mp4"
    kinds = boxes(video.content)
    assert kinds[0] == "ftyp" and {"moov", "mdat"} <= set(kinds)
    assert video.content[8:12] == b"isom"


def test_seedance_25_mov_and_last_frame(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.video_seconds = 0
    task = create(client, "seedance-2.5", output_format="mov", return_last_frame=True, ratio="1:1")
    body = client.get(f"/videos/generations/{task['id']}").json()
    assert body["status"] == "completed"
    video = httpx.get(body["video_url"], trust_env=False)
    assert video.headers["content-type"] == "video/quicktime"
    assert video.content[4:12] == b"ftypqt  "
    assert {"moov", "mdat"} <= set(boxes(video.content))
    frame = httpx.get(body["last_frame_url"], trust_env=False)
    assert frame.headers["content-type"] == "image/png"
    assert decode(frame.content).size == (720, 720)


def test_url_expiry_turns_the_task_expired(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.video_seconds = 0
    task = create(client)
    url = client.get(f"/videos/generations/{task['id']}").json()["video_url"]
    sim.state.media.advance(86401)
    body = client.get(f"/videos/generations/{task['id']}").json()
    assert (body["status"], body["is_expired"], body["video_url_ttl"]) == ("expired", True, 0)
    assert httpx.get(url, trust_env=False).status_code == 403


def test_expire_and_fail_job_faults(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.video_seconds = 0
    expired = client.post("/videos/generations", json=video_body(), headers=job_fault("expire"))
    failed = client.post("/videos/generations", json=video_body(), headers=job_fault("fail"))
    body = client.get(f"/videos/generations/{expired.json()['id']}").json()
    assert (body["status"], body["is_expired"]) == ("expired", True)
    body = client.get(f"/videos/generations/{failed.json()['id']}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "upstream_error"
    assert "video_url" not in body


def test_list_filters_by_status_and_limits(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.video_seconds = 30
    ids = [create(client)["id"] for _ in range(3)]
    assert client.post(f"/videos/generations/{ids[0]}/cancel").status_code == 200
    everything = client.get("/videos/generations").json()
    assert everything["total"] == 3
    assert [t["id"] for t in everything["items"]] == ids[::-1]
    limited = client.get("/videos/generations", params={"limit": 1}).json()
    assert (len(limited["items"]), limited["total"]) == (1, 3)
    cancelled = client.get("/videos/generations", params={"status": "cancelled"}).json()
    assert [t["id"] for t in cancelled["items"]] == [ids[0]]
    queued = client.get("/videos/generations", params={"status": "queued"}).json()
    assert queued["total"] == 2
    for params in ({"status": "done"}, {"limit": 0}, {"limit": "many"}):
        assert client.get("/videos/generations", params=params).status_code == 400


def test_cancel_then_409(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.video_seconds = 30
    task = create(client)
    cancelled = client.post(f"/videos/generations/{task['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/videos/generations/{task['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "task_not_cancellable"
    sim.state.media.video_seconds = 0
    done = create(client)
    poll_until(client, f"/videos/generations/{done['id']}", TERMINAL)
    assert client.post(f"/videos/generations/{done['id']}/cancel").status_code == 409
    assert client.post("/videos/generations/vgen_nope/cancel").status_code == 404


@pytest.mark.parametrize(
    ("model", "extra", "param"),
    [
        ("seedance-1.0-pro", {"duration": 13}, "duration"),
        ("seedance-1.0-pro", {"duration": -1}, "duration"),
        ("seedance-1.5-pro", {"duration": 3}, "duration"),
        ("seedance-2.0", {"duration": 16}, "duration"),
        ("seedance-2.5", {"duration": 31}, "duration"),
        ("seedance-2.5", {"resolution": "1080p"}, "resolution"),
        ("seedance-1.5-pro", {"ratio": "2:1"}, "ratio"),
        ("seedance-1.5-pro", {"output_format": "mov"}, "output_format"),
        ("seedance-1.0-pro", {"frames": 30}, "frames"),
        ("seedance-2.5", {"omni_reference_task_type": "edit", "ratio": "adaptive"}, "duration"),
        ("seedance-2.5", {"omni_reference_task_type": "extend"}, "ratio"),
        ("seedance-2.0", {"omni_reference_task_type": "auto"}, "omni_reference_task_type"),
        ("happyhorse-1.0-t2v", {"duration": 7}, "duration"),
        ("seedance-1.5-pro", {"prompt": ""}, "prompt"),
        ("seedance-1.5-pro", {"watermark": "no"}, "watermark"),
        ("seedance-1.5-pro", {"execution_expires_after": 60}, "execution_expires_after"),
        ("seedance-1.5-pro", {"callback_url": "ftp://x"}, "callback_url"),
        ("seedance-1.5-pro", {"tools": [{"type": "code"}]}, "tools[0].type"),
        ("gpt-5.4", {}, "model"),
    ],
)
@pytest.mark.invalid_requests_expected
def test_invalid_create_is_400(
    client: httpx.Client, model: str, extra: dict[str, Any], param: str
) -> None:
    response = client.post("/videos/generations", json=video_body(model, **extra))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_request", param)


def test_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.post("/videos/generations", json=video_body("sora-9"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "upstream_model_not_found"


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("seedance-1.5-pro", {"duration": -1}),
        ("seedance-2.5", {"duration": 30, "resolution": "480p"}),
        ("seedance-2.5", {"omni_reference_task_type": "edit", "ratio": "adaptive", "duration": -1}),
        ("seedance-1.0-pro-fast", {"duration": 2}),
        ("happyhorse-1.0-t2v", {"duration": 10, "resolution": "1080p"}),
        ("seedance-2.0", {"generate_audio": True, "watermark": False, "service_tier": "flex",
                          "tools": [{"type": "web_search"}], "callback_url": "https://x.test/cb"}),
    ],
)  # fmt: skip
def test_valid_variants_are_accepted(
    client: httpx.Client, model: str, extra: dict[str, Any]
) -> None:
    assert client.post("/videos/generations", json=video_body(model, **extra)).status_code == 202


def test_frames_win_over_duration_on_10_pro_only(client: httpx.Client) -> None:
    pro = create(client, "seedance-1.0-pro", frames=121, duration=2)
    assert (pro["frames"], pro["duration"]) == (121, 5)
    other = create(client, "seedance-1.5-pro", frames=121)
    assert "frames" not in other


@pytest.mark.parametrize(
    ("content", "input_type"),
    [
        ([{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}],
         "image_first_frame"),
        ([{"type": "image", "url": "https://x.test/a.png", "role": "first_frame"},
          {"type": "image", "url": "https://x.test/b.png", "role": "last_frame"}],
         "image_first_last_frame"),
        ([{"type": "image", "url": "https://x.test/a.png", "role": "reference_image"}],
         "image_reference"),
        ([{"type": "video_url", "video_url": {"url": "https://x.test/a.mp4"}}], "video_reference"),
        ([{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
          {"type": "audio_url", "audio_url": {"url": "https://x.test/a.mp3"}}], "multimodal"),
        ([{"type": "text", "text": "more"}], "text"),
    ],
)  # fmt: skip
def test_content_items_set_input_type(
    client: httpx.Client, content: list[dict[str, Any]], input_type: str
) -> None:
    assert create(client, "seedance-2.0", content=content)["input_type"] == input_type


@pytest.mark.parametrize(
    ("model", "item", "needle"),
    [
        ("seedance-2.0", {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
         "data: URLs"),
        ("seedance-2.0", {"type": "image", "url": "data:image/png;base64,AA"}, "data: URLs"),
        ("seedance-1.5-pro", {"type": "image_url", "image_url": {"url": "asset://a1"}}, "asset://"),
        ("seedance-2.0", {"type": "image_url", "image_url": {"url": "/local/file.png"}},
         "content[0].image_url.url"),
        ("seedance-2.0", {"type": "image", "url": "https://x.test/a", "upload_id": "upl_1"},
         "exactly one"),
        ("seedance-2.0", {"type": "audio_url", "audio_url": {"url": "https://x.test/a"},
                          "role": "first_frame"}, "does not fit"),
        ("seedance-2.0", {"type": "gif"}, "type"),
    ],
)  # fmt: skip
@pytest.mark.invalid_requests_expected
def test_bad_content_items_are_400(
    client: httpx.Client, model: str, item: dict[str, Any], needle: str
) -> None:
    response = client.post("/videos/generations", json=video_body(model, content=[item]))
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_asset_urls_work_on_seedance_20(client: httpx.Client) -> None:
    item = {"type": "image_url", "image_url": {"url": "asset://portrait-1"}}
    assert create(client, "seedance-2.0-fast", content=[item])["input_type"] == "image_first_frame"


def test_idempotency_key_on_video_create(client: httpx.Client, sim: SimulatorServer) -> None:
    key = {"Idempotency-Key": "video-1"}
    first = client.post("/videos/generations", json=video_body(), headers=key)
    again = client.post("/videos/generations", json=video_body(), headers=key)
    assert again.status_code == 409
    assert again.json()["error"]["task_id"] == first.json()["id"]
    assert sim.state.media.charges == {"video": 1}


def test_accept_then_drop_then_retry_is_charged_once(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    headers = {"Idempotency-Key": "drop-1", **fault("accept_then_drop")}
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/videos/generations", json=video_body(), headers=headers)
    retry = client.post(
        "/videos/generations", json=video_body(), headers={"Idempotency-Key": "drop-1"}
    )
    assert retry.status_code == 409
    task_id = retry.json()["error"]["task_id"]
    assert sim.state.media.charged_task_ids == [task_id]
    assert sim.state.media.submits == {"video": 1}
    assert client.get(f"/videos/generations/{task_id}").status_code == 200


def test_video_models_list_matches_what_create_accepts(client: httpx.Client) -> None:
    for entry in client.get("/videos/models").json()["data"]:
        caps = entry["capabilities"]
        body = video_body(
            entry["id"],
            duration=caps["duration"]["default"],
            resolution=caps["resolutions"]["values"][-1],
            ratio=caps["ratios"]["values"][-1],
        )
        assert client.post("/videos/generations", json=body).status_code == 202, entry["id"]

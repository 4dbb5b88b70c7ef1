from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer

from .media_helpers import decode, decode_b64, image_body, job_fault, poll_until

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DONE = {"completed", "failed", "cancelled"}


def create(client: httpx.Client, path: str = "/images/generations/async", **extra: Any) -> str:
    response = client.post(path, json=image_body(**extra))
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("path", ["/images/generations/async", "/images/generations"])
def test_create_answers_202_queued(client: httpx.Client, path: str) -> None:
    response = client.post(path, json=image_body())
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "status", "model", "created_at"}
    assert re.fullmatch(r"igen_[0-9a-f]{24}", body["id"])
    assert (body["status"], body["model"]) == ("queued", "gpt-image-2")
    assert RFC3339.match(body["created_at"])
    assert response.headers["x-gateway-request-id"]


def test_status_moves_with_time_and_suggests_a_wait(client: httpx.Client) -> None:
    task_id = create(client)
    first = client.get(f"/images/generations/{task_id}")
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "queued"
    assert 50 <= body["next_poll_after_ms"] <= 2000
    assert first.headers["Retry-After"] == "1"
    time.sleep(0.12)  # past the first third of the default 0.3 s
    assert client.get(f"/images/generations/{task_id}").json()["status"] == "processing"
    done = poll_until(client, f"/images/generations/{task_id}", DONE)
    assert done.json()["status"] == "completed"
    assert "Retry-After" not in done.headers


def test_first_claim_has_b64_and_r2_then_r2_only(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 0
    task_id = create(client, n=2, size="96x32", quality="low")
    first = client.get(f"/images/generations/{task_id}").json()
    assert first["status"] == "completed"
    assert (first["size"], first["quality"], first["output_format"]) == ("96x32", "low", "png")
    assert set(first["usage"]) >= {"input_tokens", "output_tokens", "total_tokens"}
    assert first["usage"]["input_tokens_details"]["image_tokens"] == 0
    assert len(first["data"]) == 2
    for item in first["data"]:
        assert set(item) == {"b64_json", "r2_url", "r2_url_expires_at", "mime_type"}
        assert item["mime_type"] == "image/png"
        assert RFC3339.match(item["r2_url_expires_at"])
        image = decode_b64(item["b64_json"])
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (96, 32))
        download = httpx.get(item["r2_url"], trust_env=False)
        assert download.status_code == 200
        assert download.headers["content-type"] == "image/png"
        assert decode(download.content).size == (96, 32)
    assert first["data"][0]["b64_json"] != first["data"][1]["b64_json"]
    second = client.get(f"/images/generations/{task_id}")
    assert second.status_code == 200
    items = second.json()["data"]
    assert [set(i) for i in items] == [{"r2_url", "r2_url_expires_at", "mime_type"}] * 2
    assert [i["r2_url"] for i in items] == [i["r2_url"] for i in first["data"]]
    assert sim.state.media.polls == {task_id: 2}


@pytest.mark.parametrize(
    ("extra", "fmt", "mode", "size"),
    [
        ({"output_format": "jpeg", "output_compression": 40}, "JPEG", "RGB", (64, 48)),
        ({"output_format": "webp"}, "WEBP", "RGB", (64, 48)),
        ({"output_format": "webp", "background": "transparent"}, "WEBP", "RGBA", (64, 48)),
        ({"background": "transparent"}, "PNG", "RGBA", (64, 48)),
        ({"size": "auto"}, "PNG", "RGB", (1024, 1024)),
        ({"size": "48x144"}, "PNG", "RGB", (48, 144)),
    ],
)
def test_images_decode_at_requested_format_mode_and_size(
    client: httpx.Client,
    sim: SimulatorServer,
    extra: dict[str, Any],
    fmt: str,
    mode: str,
    size: tuple[int, int],
) -> None:
    sim.state.media.image_seconds = 0
    task_id = create(client, **extra)
    item = client.get(f"/images/generations/{task_id}").json()["data"][0]
    image = decode_b64(item["b64_json"])
    assert (image.format, image.mode, image.size) == (fmt, mode, size)
    assert item["mime_type"] == f"image/{fmt.lower()}"


@pytest.mark.slow
def test_largest_size_is_a_real_png(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.image_seconds = 0
    task_id = create(client, size="3840x2160")
    image = decode_b64(client.get(f"/images/generations/{task_id}").json()["data"][0]["b64_json"])
    assert image.size == (3840, 2160)


def test_same_request_same_pixels_and_seed_only_for_wan(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 0

    def b64(**extra: Any) -> str:
        task_id = create(client, **extra)
        return str(client.get(f"/images/generations/{task_id}").json()["data"][0]["b64_json"])

    assert b64() == b64()
    assert b64(seed=1) == b64(seed=2)  # gpt-image-2 ignores seed (§1.7)
    assert b64(model="wan2.7-image", seed=1) != b64(model="wan2.7-image", seed=2)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"model": "dall-e-3"}, "model"),
        ({"model": "gpt-5.4"}, "model"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 32_001}, "prompt"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"size": "1000x1000"}, "size"),  # not multiples of 16
        ({"size": "4096x2160"}, "size"),  # over 3840x2160
        ({"size": "2176x2176"}, "size"),  # short side over 2160
        ({"size": "1600x512"}, "size"),  # wider than 3:1
        ({"size": "1024*1024"}, "size"),
        ({"quality": "ultra"}, "quality"),
        ({"output_format": "gif"}, "output_format"),
        ({"output_compression": 101}, "output_compression"),
        ({"background": "clear"}, "background"),
        ({"moderation": "none"}, "moderation"),
        ({"seed": -1}, "seed"),
        ({"output_format": "jpeg", "background": "transparent"}, "background"),
    ],
)
@pytest.mark.invalid_requests_expected
def test_invalid_create_is_400(client: httpx.Client, extra: dict[str, Any], param: str) -> None:
    response = client.post("/images/generations/async", json=image_body(**extra))
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"], error["param"]) == (
        "invalid_request",
        "invalid_request_error",
        param,
    )


def test_edge_sizes_are_accepted(client: httpx.Client) -> None:
    for size in ("3840x2160", "2160x3840", "1536x512", "16x16"):
        assert client.post("/images/generations", json=image_body(size=size)).status_code == 202


def test_no_r2_mode_makes_the_second_get_410(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.image_seconds = 0
    sim.state.media.r2_enabled = False
    task_id = create(client)
    first = client.get(f"/images/generations/{task_id}").json()
    assert set(first["data"][0]) == {"b64_json", "mime_type"}
    second = client.get(f"/images/generations/{task_id}")
    assert second.status_code == 410
    error = second.json()["error"]
    assert (error["code"], error["type"]) == ("image_already_retrieved", "invalid_request_error")


def test_no_r2_job_fault_is_per_task(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.image_seconds = 0
    plain = create(client)
    response = client.post("/images/generations", json=image_body(), headers=job_fault("no_r2"))
    faulty = response.json()["id"]
    for task_id in (plain, faulty):
        assert client.get(f"/images/generations/{task_id}").status_code == 200
    assert client.get(f"/images/generations/{plain}").status_code == 200
    assert client.get(f"/images/generations/{faulty}").status_code == 410


def test_r2_copy_expires(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.image_seconds = 0
    task_id = create(client)
    url = client.get(f"/images/generations/{task_id}").json()["data"][0]["r2_url"]
    sim.state.media.advance(31 * 86400)
    gone = client.get(f"/images/generations/{task_id}")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "image_expired"
    dead = httpx.get(url, trust_env=False)
    assert dead.status_code == 403
    assert b"<Code>AccessDenied</Code>" in dead.content


def test_unclaimed_result_expires_after_the_claim_ttl(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 0
    task_id = create(client)
    sim.state.media.advance(1801)
    response = client.get(f"/images/generations/{task_id}")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "image_expired"


def test_expire_job_fault_gives_410_on_first_claim(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 0
    response = client.post("/images/generations", json=image_body(), headers=job_fault("expire"))
    got = client.get(f"/images/generations/{response.json()['id']}")
    assert got.status_code == 410
    assert got.json()["error"]["code"] == "image_expired"


@pytest.mark.parametrize(
    ("spec", "status", "code"),
    [("fail", "failed", "upstream_error"), ("fail:upstream_content_violation", "failed",
     "upstream_content_violation"), ("cancel", "cancelled", "cancelled")],
)  # fmt: skip
def test_job_fault_ends_failed_or_cancelled(
    client: httpx.Client, sim: SimulatorServer, spec: str, status: str, code: str
) -> None:
    sim.state.media.image_seconds = 0
    task_id = client.post("/images/generations", json=image_body(), headers=job_fault(spec))
    body = client.get(f"/images/generations/{task_id.json()['id']}").json()
    assert body["status"] == status
    assert body["error"]["code"] == code
    assert "data" not in body


def test_concurrent_first_claim_is_409(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.media.image_seconds = 0
    sim.state.media.claim_seconds = 0.3
    task_id = create(client)
    results: dict[str, httpx.Response] = {}

    def claim() -> None:
        results["first"] = client.get(f"/images/generations/{task_id}")

    thread = threading.Thread(target=claim)
    thread.start()
    time.sleep(0.1)
    second = client.get(f"/images/generations/{task_id}")
    thread.join()
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "claim_in_progress"
    assert "b64_json" in results["first"].json()["data"][0]


def test_idempotency_key_dedupes_for_60_seconds(client: httpx.Client, sim: SimulatorServer) -> None:
    key = {"Idempotency-Key": "job-123"}
    first = client.post("/images/generations/async", json=image_body(), headers=key)
    again = client.post("/images/generations", json=image_body(), headers=key)
    assert again.status_code == 409
    error = again.json()["error"]
    assert (error["code"], error["task_id"]) == ("duplicate_request", first.json()["id"])
    with httpx.Client(
        base_url=sim.base_url, headers={"Authorization": "Bearer other-key"}, trust_env=False
    ) as other:
        assert other.post("/images/generations", json=image_body(), headers=key).status_code == 202
    sim.state.media.advance(61)
    later = client.post("/images/generations", json=image_body(), headers=key)
    assert later.status_code == 202
    assert later.json()["id"] != first.json()["id"]
    assert sim.state.media.submits == {"image": 3}


def test_unknown_or_foreign_task_is_404(client: httpx.Client, sim: SimulatorServer) -> None:
    assert client.get("/images/generations/igen_000000000000000000000000").status_code == 404
    task_id = create(client)
    with httpx.Client(
        base_url=sim.base_url, headers={"Authorization": "Bearer other"}, trust_env=False
    ) as other:
        response = other.get(f"/images/generations/{task_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_image_models_list_matches_what_create_accepts(client: httpx.Client) -> None:
    listed = {m["id"] for m in client.get("/images/models").json()["data"]}
    assert listed == {"gpt-image-2", "wan2.7-image", "wan2.7-image-pro"}
    for model in listed:
        assert client.post("/images/generations", json=image_body(model=model)).status_code == 202

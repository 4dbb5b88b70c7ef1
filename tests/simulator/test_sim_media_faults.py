from __future__ import annotations

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer

from .conftest import API_KEY
from .media_helpers import fault, image_body, job_fault, video_body


def ready_image(client: httpx.Client, sim: SimulatorServer, **headers: str) -> str:
    sim.state.media.image_seconds = 0
    response = client.post("/images/generations/async", json=image_body(), headers=headers)
    assert response.status_code == 202
    return str(response.json()["id"])


@pytest.mark.parametrize(("spec", "status"), [("429:3", 429), ("500", 500), ("503", 503),
                                              ("401", 401), ("402", 402)])  # fmt: skip
def test_status_faults_on_a_poll_leave_the_claim(
    client: httpx.Client, sim: SimulatorServer, spec: str, status: int
) -> None:
    task_id = ready_image(client, sim)
    faulty = client.get(f"/images/generations/{task_id}", headers=fault(spec))
    assert faulty.status_code == status
    if status == 429:
        assert faulty.headers["Retry-After"] == "3"
    assert sim.state.media.polls == {}
    assert "b64_json" in client.get(f"/images/generations/{task_id}").json()["data"][0]


def test_queued_faults_hit_media_endpoints_in_order(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.enqueue_faults(["503", "429"])
    assert client.post("/videos/generations", json=video_body()).status_code == 503
    assert client.post("/videos/generations", json=video_body()).status_code == 429
    assert client.post("/videos/generations", json=video_body()).status_code == 202
    assert sim.state.media.submits == {"video": 1}


def test_disconnect_on_a_poll_keeps_the_first_claim(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    task_id = ready_image(client, sim)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"/images/generations/{task_id}", headers=fault("disconnect:0"))
    assert sim.state.requests[-1].status is None
    assert "b64_json" in client.get(f"/images/generations/{task_id}").json()["data"][0]


def test_accept_then_drop_on_a_poll_loses_the_first_claim(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    task_id = ready_image(client, sim)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"/images/generations/{task_id}", headers=fault("accept_then_drop"))
    item = client.get(f"/images/generations/{task_id}").json()["data"][0]
    assert "b64_json" not in item
    assert item["r2_url"]


def test_accept_then_drop_on_image_create_then_retry_is_charged_once(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    key = {"Idempotency-Key": "img-drop"}
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(
            "/images/generations/async",
            json=image_body(),
            headers={**key, **fault("accept_then_drop")},
        )
    retry = client.post("/images/generations/async", json=image_body(), headers=key)
    assert retry.status_code == 409
    error = retry.json()["error"]
    assert error["code"] == "duplicate_request"
    assert sim.state.media.charges == {"image": 1}
    assert sim.state.media.charged_task_ids == [error["task_id"]]
    assert [r.status for r in sim.state.requests] == [None, 409]


def test_malformed_fault_on_a_create_creates_nothing(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    response = client.post("/images/generations", json=image_body(), headers=fault("malformed:0"))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert sim.state.media.submits == {}


def test_bad_job_fault_header_is_400(client: httpx.Client, sim: SimulatorServer) -> None:
    response = client.post("/images/generations", json=image_body(), headers=job_fault("explode"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_fault_spec", "X-Sim-Job-Fault")
    assert sim.state.media.submits == {}


def test_queued_job_faults_apply_to_the_next_creates(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 0
    sim.state.media.enqueue_job_faults(["fail", "no_r2"])
    assert sim.state.media.pending_job_faults == ["fail", "no_r2"]
    failed = client.post("/images/generations", json=image_body()).json()["id"]
    no_r2 = client.post("/images/generations", json=image_body()).json()["id"]
    plain = client.post("/images/generations", json=image_body()).json()["id"]
    assert client.get(f"/images/generations/{failed}").json()["status"] == "failed"
    client.get(f"/images/generations/{no_r2}")
    assert client.get(f"/images/generations/{no_r2}").status_code == 410
    client.get(f"/images/generations/{plain}")
    assert client.get(f"/images/generations/{plain}").status_code == 200
    with pytest.raises(ValueError, match="unknown job fault"):
        sim.state.media.enqueue_job_faults(["melt"])


def test_media_control_route_sets_durations_queues_and_advances(
    root: httpx.Client, client: httpx.Client, sim: SimulatorServer
) -> None:
    answer = root.post(
        "/_sim/media", json={"video_seconds": 3600, "job_faults": ["expire"], "advance": 0}
    )
    assert answer.status_code == 200
    assert answer.json()["settings"]["video_seconds"] == 3600
    assert sim.state.media.video_seconds == 3600
    task_id = client.post("/videos/generations", json=video_body()).json()["id"]
    assert client.get(f"/videos/generations/{task_id}").json()["status"] == "queued"
    root.post("/_sim/media", json={"advance": 3601})
    assert client.get(f"/videos/generations/{task_id}").json()["status"] == "expired"
    snapshot = root.get("/_sim/media").json()
    assert snapshot["submits"] == {"video": 1}
    assert snapshot["polls"] == {task_id: 2}
    assert snapshot["clock_offset"] == 3601
    for bad in ({"image_seconds": -1}, {"nope": 1}, {"job_faults": ["melt"]}, {"advance": "x"},
                {"r2_enabled": 0}, [1]):  # fmt: skip
        assert root.post("/_sim/media", json=bad).status_code == 400, bad
    assert sim.state.media.pending_job_faults == []


def test_reset_clears_media_state(
    root: httpx.Client, client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 9
    sim.state.media.enqueue_job_faults(["fail"])
    task_id = client.post("/images/generations", json=image_body()).json()["id"]
    root.post("/_sim/reset")
    assert sim.state.media.image_seconds == 0.3
    assert sim.state.media.submits == {} == sim.state.media.charges
    assert sim.state.media.pending_job_faults == []
    assert client.get(f"/images/generations/{task_id}").status_code == 404


def test_request_log_never_holds_the_key(client: httpx.Client, sim: SimulatorServer) -> None:
    task_id = ready_image(client, sim)
    url = client.get(f"/images/generations/{task_id}").json()["data"][0]["r2_url"]
    httpx.get(url, trust_env=False)
    client.post("/videos/generations", json=video_body())
    dumped = repr([r.to_dict() for r in sim.state.requests]) + repr(sim.state.media.snapshot())
    assert API_KEY not in dumped
    assert [r.has_auth for r in sim.state.requests] == [True, True, False, True]


@pytest.mark.slow
def test_media_endpoints_need_a_key(sim: SimulatorServer, th_sim: SimulatorServer) -> None:
    for server, method, path in [
        (sim, "POST", "/images/generations/async"),
        (sim, "GET", "/images/generations/igen_x"),
        (sim, "POST", "/uploads/presign"),
        (sim, "POST", "/videos/generations"),
        (sim, "GET", "/videos/generations"),
        (th_sim, "POST", "/images/generations"),
        (th_sim, "POST", "/video/generations"),
    ]:
        with httpx.Client(base_url=server.base_url, trust_env=False) as anonymous:
            response = anonymous.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "invalid_api_key"
    assert sim.state.media.submits == {} == th_sim.state.media.submits


def test_accept_then_drop_acts_like_disconnect_on_chat(client: httpx.Client) -> None:
    body = {"model": "gpt-5.4-nano", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/chat/completions", json=body, headers=fault("accept_then_drop"))
    with pytest.raises(httpx.RemoteProtocolError):
        with client.stream(
            "POST",
            "/chat/completions",
            json={**body, "stream": True},
            headers=fault("accept_then_drop"),
        ) as response:
            lines = list(response.iter_lines())
            assert not [line for line in lines if line.startswith("data: ")]
    assert client.post("/chat/completions", json=body).status_code == 200


def test_slow_job_fault_keeps_one_task_running_until_the_clock_passes_it(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.image_seconds = 0
    task_id = client.post(
        "/images/generations", json=image_body(), headers=job_fault("slow:30")
    ).json()["id"]
    assert client.get(f"/images/generations/{task_id}").json()["status"] == "queued"
    sim.state.media.advance(30)
    assert "b64_json" in client.get(f"/images/generations/{task_id}").json()["data"][0]


def test_file_url_job_fault_points_the_video_link_at_a_local_file(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.video_seconds = 0
    created = client.post("/videos/generations", json=video_body(), headers=job_fault("file_url"))
    task = client.get(f"/videos/generations/{created.json()['id']}").json()
    assert (task["status"], task["video_url"]) == ("completed", "file:///etc/passwd")


def test_huge_job_fault_streams_that_many_mib_without_a_content_length(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    sim.state.media.video_seconds = 0
    created = client.post("/videos/generations", json=video_body(), headers=job_fault("huge:2"))
    url = client.get(f"/videos/generations/{created.json()['id']}").json()["video_url"]
    with httpx.stream("GET", url) as response:
        assert response.status_code == 200 and "content-length" not in response.headers
        body = response.read()
    assert len(body) == 2 * 1024 * 1024 and body[4:8] == b"ftyp"


@pytest.mark.parametrize("spec", ["slow", "slow:x", "huge:0", "huge:9999", "file_url:1"])
def test_bad_new_job_fault_specs_are_refused(sim: SimulatorServer, spec: str) -> None:
    with pytest.raises(ValueError, match="unknown job fault"):
        sim.state.media.enqueue_job_faults([spec])

"""Media jobs over the server: submit, follow, fetch the files, cancel, isolation, shutdown.

The server's gateway talks to the session's simulator (AllToken dialect), so tests set
its media timings and queue job faults on it; the server runs each job in the
background and journals it with the caller's owner id.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from alltoken_agent.media import PollPolicy
from alltoken_agent.server import owner_id
from alltoken_agent.store import Store
from tests.media.test_videos import boxes
from tests.server.conftest import KEY_A, KEY_B, MakeServer, ServerThread

FAST = PollPolicy(initial=0.02, interval=0.05, jitter=0.0, deadline=None)


def fast(server: ServerThread) -> ServerThread:
    """Poll jobs every few milliseconds: the simulator's jobs take a fraction of a second."""
    server.context.media.policies = {"image": FAST, "video": FAST}
    return server


def wait_for(client: httpx.Client, job_id: str, *statuses: str, timeout: float = 20) -> Any:
    """The job once its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.02)


def submit(client: httpx.Client, kind: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/v1/{kind}", json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    return job


def test_an_image_job_runs_in_the_background_and_its_file_downloads(
    make_server: MakeServer, sim: Any, isolated_environment: Path
) -> None:
    sim.state.media.image_seconds = 0.05
    server = fast(make_server())
    with server.client() as client:
        job = submit(client, "images", prompt="a red fox", size="1024x1024", quality="low")
        assert (job["kind"], job["status"], job["model"]) == ("image", "submitting", "gpt-image-2")
        assert job["params"] == {
            "prompt": "a red fox",
            "size": "1024x1024",
            "quality": "low",
            "n": 1,
        }
        done = wait_for(client, job["id"], "completed")
        (file,) = done["files"]
        assert file["url"] == f"/v1/jobs/{job['id']}/files/0" and file["mime_type"] == "image/png"
        assert done["task_id"].startswith("igen_") and done["error"] is None
        download = client.get(file["url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert len(download.content) == file["size"]
    with Image.open(io.BytesIO(download.content)) as image:
        assert image.format == "PNG" and image.size == (1024, 1024)
    # Journaled under the caller's owner id, saved in that key's folder of the data dir.
    record = server.store.media_jobs.get(job["id"], owner=owner_id(KEY_A))
    assert record is not None and record.status == "completed"
    saved = Path(record.files[0]["path"])
    folder = isolated_environment / "data" / "media" / "server" / owner_id(KEY_A)
    assert saved.parent == folder and saved.read_bytes() == download.content
    (create,) = [r for r in sim.state.requests if r.path == "/v1/images/generations/async"]
    assert create.json["size"] == "1024x1024" and create.json["prompt"] == "a red fox"


def test_a_video_job_saves_an_mp4_and_the_ledger_counts_it_for_the_key(
    make_server: MakeServer, sim: Any
) -> None:
    sim.state.media.video_seconds = 0.1
    server = fast(make_server())
    with server.client() as client:
        job = submit(
            client, "videos", prompt="a fox runs through snow", duration=5, resolution="480p"
        )
        done = wait_for(client, job["id"], "completed")
        (file,) = done["files"]
        download = client.get(file["url"])
        assert download.status_code == 200
        assert download.headers["content-type"] == "video/mp4"
        kinds = boxes(download.content)
        assert kinds[0] == "ftyp" and {"moov", "mdat"} <= set(kinds)
        rows = _usage_rows(client, "seedance-1.5-pro")
    assert rows["requests"] == 1
    with server.client(KEY_B) as other:
        assert "seedance-1.5-pro" not in {r["key"] for r in other.get("/v1/usage").json()["rows"]}
    (create,) = [r for r in sim.state.requests if r.path == "/v1/videos/generations"]
    assert create.json["duration"] == 5 and create.json["resolution"] == "480p"


def _usage_rows(client: httpx.Client, model: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:  # the ledger's row is written by the server's writer thread
        rows = {row["key"]: row for row in client.get("/v1/usage").json()["rows"]}
        if model in rows or time.monotonic() > deadline:
            return rows[model]  # type: ignore[no-any-return]
        time.sleep(0.02)


@pytest.mark.slow
def test_another_keys_job_and_files_do_not_exist(make_server: MakeServer, sim: Any) -> None:
    sim.state.media.image_seconds = 0.05
    server = fast(make_server())
    with server.client(KEY_A) as alice, server.client(KEY_B) as bob:
        job = submit(alice, "images", prompt="alice's fox")
        wait_for(alice, job["id"], "completed")
        task_id = alice.get(f"/v1/jobs/{job['id']}").json()["task_id"]
        for path in (
            f"/v1/jobs/{job['id']}",
            f"/v1/jobs/{task_id}",
            f"/v1/jobs/{job['id']}/files/0",
        ):
            response = bob.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "job_not_found"
        cancel = bob.post(f"/v1/jobs/{job['id']}/cancel")
        assert cancel.status_code == 404
        assert bob.get("/v1/jobs").json() == {"jobs": []}
        assert [j["id"] for j in alice.get("/v1/jobs").json()["jobs"]] == [job["id"]]
        assert alice.get(f"/v1/jobs/{task_id}").json()["id"] == job["id"]
        missing = alice.get(f"/v1/jobs/{job['id']}/files/1")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "file_not_found"
    # No local job either: an open server's (or the CLI's) jobs are not the keys'.
    assert server.store.media_jobs.list_jobs() == []


@pytest.mark.slow
def test_a_job_that_fails_on_the_gateway_ends_failed_with_its_code(
    make_server: MakeServer, sim: Any
) -> None:
    sim.state.media.image_seconds = 0.05
    sim.state.media.enqueue_job_faults(["fail:upstream_content_violation"])
    server = fast(make_server())
    with server.client() as client:
        job = submit(client, "images", prompt="a fox")
        failed = wait_for(client, job["id"], "failed")
        listed = client.get("/v1/jobs", params={"status": "failed"}).json()["jobs"]
    assert failed["files"] == [] and failed["completed_at"] is not None
    assert failed["error"]["code"] == "upstream_content_violation"
    assert "failed on the gateway" in failed["error"]["message"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_an_unknown_model_is_accepted_then_fails_with_the_gateways_code(
    make_server: MakeServer, sim: Any
) -> None:
    server = fast(make_server())
    with server.client() as client:
        job = submit(client, "videos", prompt="a fox", model="no-such-video-model")
        failed = wait_for(client, job["id"], "failed")
    assert failed["error"]["code"] == "upstream_model_not_found"


def test_bad_options_are_refused_before_anything_is_journaled(
    make_server: MakeServer, sim: Any
) -> None:
    server = make_server()
    with server.client() as client:
        for kind, body in (
            ("images", {"prompt": "a fox", "size": "100x100"}),
            ("images", {"prompt": "a fox", "background": "transparent", "output_format": "jpeg"}),
            ("images", {"prompt": "   "}),
            ("images", {"prompt": "a fox", "n": 11}),
            ("videos", {"prompt": "a fox", "first_frame": "/etc/passwd"}),
            ("videos", {"prompt": "a fox", "duration": "5"}),
            ("videos", {"prompt": "a fox", "unknown": 1}),
        ):
            response = client.post(f"/v1/{kind}", json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["error"]["code"] == "invalid_request"
        assert client.get("/v1/jobs").json() == {"jobs": []}
    assert sim.state.requests == []


@pytest.mark.slow
def test_a_running_video_can_be_cancelled_and_images_cannot(
    make_server: MakeServer, sim: Any
) -> None:
    sim.state.media.video_seconds = 30
    sim.state.media.image_seconds = 0.05
    server = fast(make_server())
    with server.client() as client:
        video = submit(client, "videos", prompt="a slow fox")
        running = _wait_for_task(client, video["id"])
        cancelled = client.post(f"/v1/jobs/{video['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["task_id"] == running["task_id"]
        again = client.post(f"/v1/jobs/{video['id']}/cancel")
        assert again.status_code == 409 and again.json()["error"]["code"] == "cannot_cancel"
        image = submit(client, "images", prompt="a fox")
        refused = client.post(f"/v1/jobs/{image['id']}/cancel")
        assert refused.status_code == 409 and "images" in refused.json()["error"]["message"]
        wait_for(client, image["id"], "completed")
        assert wait_for(client, video["id"], "cancelled")["error"]["code"] == "cancelled"
    assert [r.path for r in sim.state.requests if r.path.endswith("/cancel")] == [
        f"/v1/videos/generations/{running['task_id']}/cancel"
    ]


def _wait_for_task(client: httpx.Client, job_id: str) -> Any:
    deadline = time.monotonic() + 20
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["task_id"]:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def test_capabilities_say_media(make_server: MakeServer) -> None:
    server = make_server()
    with server.client(None) as client:
        assert client.get("/v1/capabilities").json()["media"] is True


@pytest.mark.slow
def test_a_job_polling_at_shutdown_stays_pending_and_resumes_on_the_next_start(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    sim.state.media.video_seconds = 30
    first = fast(make_server(store_url=url))
    with first.client() as client:
        job = submit(client, "videos", prompt="a fox at dusk")
        task_id = _wait_for_task(client, job["id"])["task_id"]
    first.stop()
    with Store(url) as store:
        record = store.media_jobs.get(job["id"], owner=owner_id(KEY_A))
    assert record is not None and (record.status, record.task_id) == ("pending", task_id)

    sim.state.media.advance(30)
    second = make_server(store_url=url)
    with second.client() as client:
        done = wait_for(client, job["id"], "completed")
        download = client.get(done["files"][0]["url"])
    assert download.status_code == 200 and boxes(download.content)[0] == "ftyp"
    assert sim.state.media.submits == {"video": 1}  # resumed, never submitted again


def test_an_open_server_journals_local_jobs(make_server: MakeServer, sim: Any) -> None:
    sim.state.media.image_seconds = 0.05
    server = fast(make_server(keys=None))
    with server.client(None) as client:
        job = submit(client, "images", prompt="a local fox")
        wait_for(client, job["id"], "completed")
    record = server.store.media_jobs.get(job["id"])  # owner None: `alltoken-agent jobs` sees it
    assert record is not None and "/media/server/local/" in record.files[0]["path"]

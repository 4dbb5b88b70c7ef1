from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer

from .media_helpers import checksums, png_bytes, presign_body, video_body

PNG = png_bytes()


def presign(client: httpx.Client, data: bytes = PNG, **extra: Any) -> dict[str, Any]:
    response = client.post("/uploads/presign", json=presign_body(data, **extra))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put(grant: dict[str, Any], data: bytes = PNG, **headers: str) -> httpx.Response:
    sent = {**grant["required_headers"], **headers}
    return httpx.put(grant["upload_url"], content=data, headers=sent, trust_env=False)


def upload(client: httpx.Client, data: bytes = PNG, **extra: Any) -> str:
    grant = presign(client, data, **extra)
    assert put(grant, data).status_code == 200
    return str(grant["upload_id"])


def first_frame(upload_id: str) -> list[dict[str, Any]]:
    return [{"type": "image", "upload_id": upload_id, "role": "first_frame"}]


def test_presign_answers_a_put_grant(client: httpx.Client, sim: SimulatorServer) -> None:
    grant = presign(client)
    md5, _ = checksums(PNG)
    assert re.fullmatch(r"upl_[0-9a-f]{24}", grant["upload_id"])
    assert grant["method"] == "PUT"
    assert grant["required_headers"] == {"Content-Type": "image/png", "Content-MD5": md5}
    assert grant["expires_in"] == 300
    assert grant["max_content_length"] >= len(PNG)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", grant["claim_expires_at"])
    assert grant["upload_url"].startswith(sim.url + "/")


def test_put_with_the_signed_headers_stores_the_bytes(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    grant = presign(client)
    response = put(grant)
    assert response.status_code == 200
    assert response.headers["ETag"].strip('"') == __import__("hashlib").md5(PNG).hexdigest()
    logged = sim.state.requests[-1]
    assert (logged.method, logged.has_auth) == ("PUT", False)
    assert logged.headers["content-md5"] == grant["required_headers"]["Content-MD5"]


@pytest.mark.parametrize(
    ("headers", "data", "status", "code"),
    [
        ({"Content-MD5": checksums(b"other")[0]}, PNG, 403, "SignatureDoesNotMatch"),
        ({"Content-Type": "image/jpeg"}, PNG, 403, "SignatureDoesNotMatch"),
        ({}, PNG[:-1] + b"\x00", 400, "BadDigest"),
        ({}, PNG + b"x", 400, "IncompleteBody"),
    ],
)
def test_put_rejects_mismatches(
    client: httpx.Client, headers: dict[str, str], data: bytes, status: int, code: str
) -> None:
    grant = presign(client)
    response = put(grant, data, **headers)
    assert response.status_code == status
    assert f"<Code>{code}</Code>".encode() in response.content
    # nothing was stored: the upload cannot be bound yet
    bound = client.post(
        "/videos/generations", json=video_body(content=first_frame(grant["upload_id"]))
    )
    assert bound.status_code == 400
    assert "PUT them" in bound.json()["error"]["message"]


def test_put_after_the_url_expired_is_403(client: httpx.Client, sim: SimulatorServer) -> None:
    grant = presign(client)
    sim.state.media.advance(301)
    response = put(grant)
    assert response.status_code == 403
    assert b"Request has expired" in response.content


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"purpose": "avatar"}, 400, "invalid_purpose"),
        ({"content_type": "image/gif"}, 400, "invalid_content_type"),
        ({"purpose": "video_input_audio"}, 400, "invalid_content_type"),
        ({"content_md5": "not-base64"}, 400, "invalid_content_md5"),
        ({"content_md5": "AAAA"}, 400, "invalid_content_md5"),
        ({"checksum_sha256": "ABC"}, 400, "invalid_checksum_sha256"),
        ({"content_length": 0}, 400, "invalid_request"),
        ({"content_length": 26 * 1024 * 1024, "purpose": "image_edit_source"}, 413,
         "payload_too_large"),
    ],
)  # fmt: skip
@pytest.mark.invalid_requests_expected
def test_presign_validation(
    client: httpx.Client, extra: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/uploads/presign", json=presign_body(PNG, **extra))
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_upload_binds_once(client: httpx.Client) -> None:
    upload_id = upload(client)
    first = client.post("/videos/generations", json=video_body(content=first_frame(upload_id)))
    assert first.status_code == 202
    assert first.json()["input_type"] == "image_first_frame"
    again = client.post("/videos/generations", json=video_body(content=first_frame(upload_id)))
    assert again.status_code == 400
    assert again.json()["error"]["param"] == "content[0].upload_id"
    assert "binds once" in again.json()["error"]["message"]


def test_upload_binds_only_for_the_same_key_and_purpose(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    upload_id = upload(client)
    with httpx.Client(
        base_url=sim.base_url, headers={"Authorization": "Bearer someone-else"}, trust_env=False
    ) as other:
        foreign = other.post("/videos/generations", json=video_body(content=first_frame(upload_id)))
    assert foreign.status_code == 400
    assert "unknown upload_id" in foreign.json()["error"]["message"]
    edit_source = upload(client, purpose="image_edit_source")
    wrong = client.post("/videos/generations", json=video_body(content=first_frame(edit_source)))
    assert wrong.status_code == 400
    assert "video_input_image" in wrong.json()["error"]["message"]
    # the refused creates bound nothing: the right key can still use the first upload
    ok = client.post("/videos/generations", json=video_body(content=first_frame(upload_id)))
    assert ok.status_code == 202


def test_unbound_upload_claim_expires(client: httpx.Client, sim: SimulatorServer) -> None:
    upload_id = upload(client)
    sim.state.media.advance(7201)
    response = client.post("/videos/generations", json=video_body(content=first_frame(upload_id)))
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]


def test_bound_upload_cannot_be_overwritten(client: httpx.Client) -> None:
    grant = presign(client)
    assert put(grant).status_code == 200
    content = first_frame(grant["upload_id"])
    assert client.post("/videos/generations", json=video_body(content=content)).status_code == 202
    assert put(grant).status_code == 403

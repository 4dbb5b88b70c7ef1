"""Server keys: 401 without one, and each key sees only its own sessions and usage (404)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from alltoken_agent.server import owner_id
from tests.server.conftest import KEY_A, KEY_B, MakeServer, ServerThread, create_session


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-configured-key-0000"},
        {"Authorization": f"Basic {KEY_A}"},
        {"Authorization": "Bearer"},
        {"Authorization": KEY_A},
    ],
    ids=["missing", "unknown", "wrong-scheme", "empty", "no-scheme"],
)
def test_requests_without_a_valid_key_get_401(
    server: ServerThread, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as client:
        responses = [
            client.get("/v1/sessions"),
            client.post("/v1/sessions", json={}),
            client.get("/v1/usage"),
            client.post("/v1/sessions/ses_0000000000000000/messages", json={"content": "hi"}),
        ]
    for response in responses:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


def test_the_scheme_is_case_insensitive(server: ServerThread) -> None:
    response = httpx.get(f"{server.url}/v1/sessions", headers={"Authorization": f"bearer {KEY_A}"})
    assert response.status_code == 200


def test_a_key_cannot_see_delete_or_post_to_another_keys_session(server: ServerThread) -> None:
    with server.client(KEY_A) as alice, server.client(KEY_B) as bob:
        mine = create_session(alice, instructions="Alice's secret plan")
        alice.post(f"/v1/sessions/{mine}/messages", json={"content": "remember 42"})

        assert bob.get(f"/v1/sessions/{mine}").status_code == 404
        assert bob.delete(f"/v1/sessions/{mine}").status_code == 404
        posted = bob.post(f"/v1/sessions/{mine}/messages", json={"content": "hi"})
        streamed = bob.post(
            f"/v1/sessions/{mine}/messages",
            json={"content": "hi"},
            headers={"Accept": "text/event-stream"},
        )
        missing = bob.get("/v1/sessions/ses_0000000000000000")
        assert posted.status_code == streamed.status_code == missing.status_code == 404
        # The same answer as for an id that does not exist: nothing tells them apart.
        assert (
            bob.get(f"/v1/sessions/{mine}").json()["error"]["code"]
            == missing.json()["error"]["code"]
        )
        assert bob.get("/v1/sessions").json()["sessions"] == []
        assert bob.get("/v1/usage").json()["totals"]["requests"] == 0

        detail = alice.get(f"/v1/sessions/{mine}").json()
        assert detail["message_count"] == 2
        assert "Alice's secret plan" not in str(bob.get("/v1/sessions").json())
        assert alice.get("/v1/usage").json()["totals"]["requests"] == 1


def test_sessions_store_the_keys_owner_id_never_the_key(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    with server.client(KEY_A) as alice:
        session_id = create_session(alice)
        alice.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
    server.stop()
    db = tmp_path / "server-0.db"
    with sqlite3.connect(db) as connection:
        (owner,) = connection.execute(
            "SELECT owner FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        usage_owners = {row[0] for row in connection.execute("SELECT owner FROM usage")}
    assert owner == owner_id(KEY_A) != KEY_A
    assert usage_owners == {owner_id(KEY_A)}
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("server-0.db*"))
    assert KEY_A.encode() not in raw


def test_an_open_server_needs_no_key_and_says_so(make_server: MakeServer) -> None:
    server = make_server(keys=None)
    with server.client(key=None) as client:
        assert client.get("/v1/capabilities").json()["auth"] == "none"
        session_id = create_session(client)
        assert client.get(f"/v1/sessions/{session_id}").status_code == 200
        schema = client.get("/openapi.json").json()
    assert "securitySchemes" not in schema.get("components", {})
    assert all("security" not in op for path in schema["paths"].values() for op in path.values())

"""The server's replies keep a reply's unknown usage unknown (null), never a 500 or a 0."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import ServerThread, create_session


def test_a_json_reply_whose_usage_never_came_has_null_usage(server: ServerThread, sim: Any) -> None:
    sim.state.enqueue_faults(["no_usage_done"])
    with server.client() as client:
        session_id = create_session(client)
        response = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "simulated" in body["text"].lower()
    assert body["usage"] is None and body["cost"] is None
    assert body["request_cost"] is None

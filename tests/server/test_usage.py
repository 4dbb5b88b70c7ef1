"""`GET /v1/usage`: the caller's usage from the ledger, grouped, with clear 422s."""

from __future__ import annotations

from tests.server.conftest import KEY_B, ServerThread, create_session


def test_usage_is_the_callers_grouped_by_model_day_or_session(server: ServerThread) -> None:
    with server.client() as client, server.client(KEY_B) as bob:
        first = create_session(client)
        second = create_session(client)
        for session_id in (first, second, second):
            client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
        bob_session = create_session(bob)
        bob.post(f"/v1/sessions/{bob_session}/messages", json={"content": "hi"})

        by_model = client.get("/v1/usage").json()
        by_session = client.get("/v1/usage", params={"by": "session", "since": "1d"}).json()
        by_day = client.get("/v1/usage", params={"by": "day", "since": "2020-01-01T00:00:00Z"})
        future = client.get("/v1/usage", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert by_model["totals"]["requests"] == 3
    assert [row["key"] for row in by_model["rows"]] == ["minimax-m2.7"]
    assert {row["key"]: row["requests"] for row in by_session["rows"]} == {first: 1, second: 2}
    assert by_day.status_code == 200 and len(by_day.json()["rows"]) == 1
    assert future["totals"]["requests"] == 0
    assert by_model["budget"] is None


def test_usage_refuses_what_it_cannot_read(server: ServerThread) -> None:
    with server.client() as client:
        bad_span = client.get("/v1/usage", params={"since": "yesterday"})
        number = client.get("/v1/usage", params={"since": "1700000000"})
        bad_group = client.get("/v1/usage", params={"by": "week"})
        unknown = client.get("/v1/usage", params={"sinse": "7d"})
    for response in (bad_span, number, bad_group, unknown):
        assert response.status_code == 422, response.text
    assert "ISO 8601" in number.json()["error"]["message"]
    assert "query.sinse" in unknown.json()["error"]["message"]

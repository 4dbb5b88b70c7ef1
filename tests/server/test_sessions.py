"""Sessions over real HTTP: create, list, read, delete; validation; docs and capabilities."""

from __future__ import annotations

import pytest

from tests.server.conftest import ServerThread, create_session


def test_create_session_answers_201_with_its_id_and_location(server: ServerThread) -> None:
    with server.client() as client:
        response = client.post(
            "/v1/sessions",
            json={
                "model": "deepseek-v4-flash",
                "instructions": "Be brief.",
                "tools": ["calculate"],
            },
        )
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("ses_")
    assert response.headers["location"] == f"/v1/sessions/{body['id']}"
    assert body["model"] == "deepseek-v4-flash"
    assert body["instructions"] == "Be brief."
    assert body["tools"] == ["calculate"]
    assert body["message_count"] == 0


def test_a_session_without_settings_gets_the_defaults(server: ServerThread) -> None:
    with server.client() as client:
        body = client.post("/v1/sessions", json={}).json()
    assert body["tools"] == ["get_current_time", "calculate"]
    assert body["model"]
    assert body["instructions"] is None
    assert body["thinking"] is False


def test_list_read_and_delete(server: ServerThread) -> None:
    with server.client() as client:
        first = create_session(client)
        second = create_session(client, tools=[])
        listed = client.get("/v1/sessions").json()["sessions"]
        assert {s["id"] for s in listed} == {first, second}
        assert client.get("/v1/sessions", params={"limit": 1}).json()["sessions"][0]["id"] in {
            first,
            second,
        }
        detail = client.get(f"/v1/sessions/{second}").json()
        assert detail["tools"] == []
        assert detail["messages"] == []
        assert client.delete(f"/v1/sessions/{second}").status_code == 204
        assert client.get(f"/v1/sessions/{second}").status_code == 404
        assert client.delete(f"/v1/sessions/{second}").status_code == 404
        assert [s["id"] for s in client.get("/v1/sessions").json()["sessions"]] == [first]


def test_unknown_tool_is_a_clear_422(server: ServerThread) -> None:
    with server.client() as client:
        response = client.post("/v1/sessions", json={"tools": ["calculate", "rm_rf"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "unknown tool 'rm_rf'" in error["message"]
    assert "known tools: calculate, get_current_time, web_search" in error["message"]
    assert error["details"][0]["location"] == "body.tools.1"


def test_validation_errors_name_every_problem(server: ServerThread) -> None:
    with server.client() as client:
        session_id = create_session(client)
        extra = client.post("/v1/sessions", json={"modle": "x"})
        blank = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "  \n "})
        missing = client.post(f"/v1/sessions/{session_id}/messages", json={})
        wrong_type = client.post("/v1/sessions", json={"model": 42, "thinking": "maybe"})
        not_json = client.post(
            "/v1/sessions", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        bad_limit = client.get("/v1/sessions", params={"limit": 0})
    for response in (extra, blank, missing, wrong_type, not_json, bad_limit):
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_request"
    assert "body.modle: Extra inputs are not permitted" in extra.json()["error"]["message"]
    assert "body.content" in blank.json()["error"]["message"]
    assert "body.content: Field required" in missing.json()["error"]["message"]
    locations = {d["location"] for d in wrong_type.json()["error"]["details"]}
    assert locations == {"body.model", "body.thinking"}
    assert "query.limit" in bad_limit.json()["error"]["message"]


def test_openapi_and_docs_are_served(server: ServerThread) -> None:
    with server.client(key=None) as client:
        schema = client.get("/openapi.json")
        docs = client.get("/docs")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/messages",
    } <= set(paths)
    assert "/v1/capabilities" in paths and "/v1/usage" in paths
    assert schema.json()["components"]["securitySchemes"]["ServerKey"]["scheme"] == "bearer"
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_capabilities_need_no_key(server: ServerThread) -> None:
    with server.client(key=None) as client:
        response = client.get("/v1/capabilities")
    assert response.status_code == 200
    caps = response.json()
    assert caps["streaming"] is True
    assert caps["tools"] is True and caps["tool_names"] == [
        "calculate",
        "get_current_time",
        "web_search",
    ]
    assert caps["media"] is True
    assert caps["reasoning"] is True and caps["cancel"] is True
    assert caps["auth"] == "bearer"
    assert {"stream:delta", "tool:call", "done", "error", "retry"} <= set(caps["events"])
    assert caps["limits"]["max_body_bytes"] == 8 * 1024 * 1024
    assert caps["limits"]["processes"] == 1  # the limits are this one process's


@pytest.mark.slow
def test_unknown_routes_answer_in_the_error_envelope(server: ServerThread) -> None:
    with server.client() as client:
        missing = client.get("/v1/nothing-here")
        wrong_method = client.put("/v1/sessions")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"

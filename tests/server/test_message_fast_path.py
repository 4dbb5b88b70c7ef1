"""The messages' fast path: well-formed messages skip FastAPI, everything else gets its answers.

A message whose JSON body the schema accepts is answered by ``MessageFastPath`` (the
route's own handler, without FastAPI's routing and dependencies); any other request to
the route goes on to FastAPI with its body replayed. Both must answer exactly as the
route always has: same replies, same refusals, same envelope, same limits.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.conftest import KEY_A, KEY_B, MakeServer, ServerThread, create_session
from tests.server.test_limits import _raw_request

pytestmark = pytest.mark.slow  # many servers or processes: the full suite (CI) runs it


def _post(client: Any, session_id: str, content: bytes, content_type: str, **kw: Any) -> Any:
    return client.post(
        f"/v1/sessions/{session_id}/messages",
        content=content,
        headers={"Content-Type": content_type, **kw.pop("headers", {})},
        **kw,
    )


def test_every_json_content_type_gets_the_same_answer(server: ServerThread) -> None:
    body = json.dumps({"content": "hello"}).encode()
    with server.client() as client:
        replies = []
        for kind in ("application/json", "Application/JSON; charset=utf-8", "application/x+json"):
            session_id = create_session(client, tools=[])
            replies.append(_post(client, session_id, body, kind))
    for reply in replies:
        assert reply.status_code == 200, reply.text
        assert reply.json()["text"] == replies[0].json()["text"]
        assert reply.headers["X-Request-Cost"] == replies[0].headers["X-Request-Cost"]
        assert reply.headers["X-Budget-Remaining"] == "unlimited"


def test_a_body_the_schema_refuses_gets_the_routes_422_with_its_details(
    server: ServerThread,
) -> None:
    with server.client() as client:
        session_id = create_session(client, tools=[])
        cases = {
            "body.content": b'{"content": "   "}',
            "body.extra": b'{"content": "hi", "extra": 1}',
            "body.images": b'{"content": "hi", "images": "not a list"}',
            "body": b"{not json",
        }
        replies = {
            where: _post(client, session_id, body, "application/json")
            for where, body in cases.items()
        }
        after = client.get(f"/v1/sessions/{session_id}").json()
    for where, reply in replies.items():
        assert reply.status_code == 422, (where, reply.text)
        error = reply.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["type"] == "invalid_request_error"
        assert any(d["location"].startswith(where) for d in error["details"]), error
        assert reply.headers["X-Request-Cost"] == "0"
    assert after["message_count"] == 0  # nothing refused reached the agent


def test_a_body_that_is_not_json_is_left_to_the_route(server: ServerThread) -> None:
    with server.client() as client:
        session_id = create_session(client, tools=[])
        as_text = _post(client, session_id, b'{"content": "hi"}', "text/plain")
        after = client.get(f"/v1/sessions/{session_id}").json()
    assert as_text.status_code == 422, as_text.text
    assert as_text.json()["error"]["code"] == "invalid_request"
    assert after["message_count"] == 0


def test_refusals_of_a_well_formed_message_keep_their_status_and_headers(
    server: ServerThread,
) -> None:
    body = b'{"content": "hi"}'
    with server.client() as client:
        missing = _post(client, "ses_nope", body, "application/json")
        with server.client(key=KEY_B) as other:
            other_key = create_session(other, tools=[])
        not_mine = _post(client, other_key, body, "application/json")
        too_long = _post(client, "s" * 300, body, "application/json")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "session_not_found"
    assert not_mine.status_code == 404
    assert too_long.status_code == 422  # the path's own limit, said by the route
    for reply in (missing, not_mine, too_long):
        assert reply.headers["X-Request-Cost"] == "0"


def test_a_chunked_body_past_the_limit_is_a_413_on_the_messages_route_too(
    make_server: MakeServer,
) -> None:
    server = make_server(max_body_bytes=1024)
    with server.client() as client:
        session_id = create_session(client, tools=[])
    head = (
        f"POST /v1/sessions/{session_id}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY_A}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b'{"content": "' + b"x" * 800
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(3)]
    reply = _raw_request(server, head, chunks)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"code":"request_too_large"' in reply


def test_the_api_docs_still_describe_the_route(server: ServerThread) -> None:
    with server.client() as client:
        schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/sessions/{session_id}/messages"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/MessageCreate")
    assert {"200", "404", "409", "422"} <= set(operation["responses"])


def test_an_event_stream_has_its_headers(server: ServerThread) -> None:
    with server.client() as client:
        session_id = create_session(client, tools=[])
        with client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "hi"},
            headers={"Accept": "text/event-stream"},
        ) as response:
            body = response.read()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["X-Request-Cost"] == "unknown"
    assert response.headers["X-Budget-Remaining"] == "unlimited"
    assert body.rstrip().split(b"\n")[-2] == b"event: done"  # the final event ends it

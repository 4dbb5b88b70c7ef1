"""`POST /chat`, the AllToken agent skill's server contract, over real HTTP on our sessions."""

from __future__ import annotations

from alltoken.generated import chat as spec

from tests.server.conftest import KEY_B, MakeServer, ServerThread

TOOL_PROMPT = 'What is 6*7? [[call calculate {"expression": "6*7"}]]'


def test_first_message_creates_the_agent_and_answers_response_and_history(
    server: ServerThread,
) -> None:
    with server.client() as client:
        first = client.post("/chat", json={"sessionId": "planning", "message": TOOL_PROMPT})
        assert first.status_code == 200, first.text
        body = first.json()
        assert set(body) == {"response", "history"}
        assert body["response"] == "(simulated) calculate returned: expression=6*7, result=42."
        roles = [message["role"] for message in body["history"]]
        assert roles == ["user", "assistant", "tool", "assistant"]
        # The history is the chat spec's shape: it can be sent to any gateway as it is.
        spec.ChatCompletionRequest.model_validate({"model": "m", "messages": body["history"]})
        assert first.headers["X-Request-Cost"] != "unknown"

        second = client.post("/chat", json={"sessionId": "planning", "message": "And now?"})
        assert second.status_code == 200, second.text
        history = second.json()["history"]
        assert len(history) == 6 and history[-2] == {"role": "user", "content": "And now?"}

        # One session, the same one the sessions API shows.
        listed = client.get("/v1/sessions").json()["sessions"]
        assert [s["message_count"] for s in listed] == [6]


def test_session_ids_belong_to_their_key(server: ServerThread) -> None:
    with server.client() as alice, server.client(KEY_B) as bob:
        assert alice.post("/chat", json={"sessionId": "s", "message": "Hi"}).status_code == 200
        reply = bob.post("/chat", json={"sessionId": "s", "message": "Hello"})
        assert reply.status_code == 200
        assert len(reply.json()["history"]) == 2  # Bob's own "s", not Alice's


def test_bad_bodies_get_the_error_envelope(server: ServerThread) -> None:
    with server.client() as client:
        for body in ({"message": "hi"}, {"sessionId": "s"}, {"sessionId": " ", "message": "x"}):
            reply = client.post("/chat", json=body)
            assert reply.status_code == 422, body
            assert "error" in reply.json()
    with server.client(key=None) as anonymous:
        assert anonymous.post("/chat", json={"sessionId": "s", "message": "x"}).status_code == 401


def test_the_session_quota_applies(make_server: MakeServer) -> None:
    server = make_server(max_sessions_per_key=1)
    with server.client() as client:
        assert client.post("/chat", json={"sessionId": "a", "message": "x"}).status_code == 200
        assert client.post("/chat", json={"sessionId": "a", "message": "y"}).status_code == 200
        refused = client.post("/chat", json={"sessionId": "b", "message": "x"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "session_quota_exceeded"

"""Messages over real HTTP: JSON replies and event streams, costs, budgets, failures, secrets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.cli.helpers import ndjson, run_cli
from tests.server.conftest import GATEWAY_KEY, MakeServer, ServerThread, create_session

SSE = {"Accept": "text/event-stream"}
TOOL_PROMPT = 'What is 6*7? [[call calculate {"expression": "6*7"}]]'


def iter_sse(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """Parse an event stream as it comes: (event name, JSON data), keep-alives skipped."""
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            assert name is not None
            yield name, json.loads(line[len("data: ") :])
            name = None


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """The whole event stream."""
    return list(iter_sse(response))


def stream(client: httpx.Client, session_id: str, content: str) -> tuple[httpx.Response, list[Any]]:
    with client.stream(
        "POST", f"/v1/sessions/{session_id}/messages", json={"content": content}, headers=SSE
    ) as response:
        if response.status_code == 200:
            return response, sse_events(response)
        response.read()
        return response, []


def test_a_json_reply_has_the_answer_usage_cost_and_headers(server: ServerThread) -> None:
    with server.client() as client:
        session_id = create_session(client, tools=["calculate"])
        response = client.post(f"/v1/sessions/{session_id}/messages", json={"content": TOOL_PROMPT})
        detail = client.get(f"/v1/sessions/{session_id}").json()
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == "(simulated) calculate returned: expression=6*7, result=42."
    assert body["steps"] == 2 and body["stop_reason"] == "stop"
    assert body["tool_calls"] == [
        {"name": "calculate", "arguments": {"expression": "6*7"}, "is_error": False}
    ]
    assert body["usage"]["total_tokens"] > 0
    assert Decimal(body["cost"]["cost"]) > 0
    assert response.headers["x-request-cost"] == body["request_cost"]
    assert Decimal(body["request_cost"]) == Decimal(body["cost"]["cost"])
    assert response.headers["x-budget-remaining"] == "unlimited"
    assert body["budget"] is None
    roles = [m["role"] for m in detail["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]


@pytest.mark.slow
def test_stream_events_are_the_clis_json_events(server: ServerThread, sim: Any) -> None:
    cli = run_cli("chat", "--offline", "--json", "--tools", "calculate", TOOL_PROMPT)
    assert cli.exit_code == 0, cli.stderr
    cli_events = ndjson(cli.stdout)
    with server.client() as client:
        session_id = create_session(client, tools=["calculate"])
        response, events = stream(client, session_id, TOOL_PROMPT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [name for name, _ in events] == [e["event"] for e in cli_events]
    for (name, data), line in zip(events, cli_events, strict=True):
        assert data["event"] == name
        if name == "done":
            # The CLI ran offline; the server's gateway is the simulator playing a real one.
            assert (line.pop("simulated"), data.pop("simulated")) == (True, False)
            assert {k: v for k, v in data.items() if k in line} == line
            assert set(data) - set(line) == {"session_id", "request_cost", "budget"}
        else:
            assert data == line


def test_the_final_event_carries_the_cost_and_remaining_budget(make_server: MakeServer) -> None:
    server = make_server(daily_budget_usd=Decimal("0.0002"))
    with server.client() as client:
        session_id = create_session(client)
        first, events = stream(client, session_id, "hello")
        assert first.headers["x-budget-remaining"] == "0.0002"
        name, done = events[-1]
        assert name == "done"
        cost = Decimal(done["request_cost"])
        assert cost == Decimal(done["cost"]["cost"]) > 0
        assert done["budget"] == {
            "limit": "0.0002",
            "spent": format(cost, "f"),
            "remaining": format(Decimal("0.0002") - cost, "f"),
        }
        second = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "again"})
        assert second.status_code == 200
        assert second.headers["x-budget-remaining"] == "0"
        assert second.headers["x-request-cost"] == second.json()["request_cost"]
        refused = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "more"})
        refused_stream, _ = stream(client, session_id, "more")
        usage = client.get("/v1/usage").json()
    assert refused.status_code == refused_stream.status_code == 402
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert refused.headers["x-request-cost"] == "0"
    assert refused.headers["x-budget-remaining"] == "0"
    assert usage["totals"]["requests"] == 2
    assert usage["budget"]["remaining"] == "0"


def test_a_gateway_failure_is_a_502_or_a_final_error_event(server: ServerThread, sim: Any) -> None:
    with server.client() as client:
        session_id = create_session(client)
        sim.state.enqueue_faults(["503"])
        reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
        sim.state.enqueue_faults(["503"])
        streamed, events = stream(client, session_id, "hi")
    assert reply.status_code == 502
    error = reply.json()["error"]
    assert error["code"] == "all_providers_failed" and error["type"] == "upstream_error"
    assert error["request_id"]
    assert reply.headers["x-request-cost"] == "unknown"
    assert reply.headers["x-budget-remaining"] == "unlimited"
    assert streamed.status_code == 200
    name, last = events[-1]
    assert name == "error"
    assert last["code"] == "all_providers_failed" and last["status"] == 503
    assert last["type"] == "UpstreamError" and last["request_id"]
    assert "request_cost" in last and "budget" in last


def test_retries_are_streamed_as_retry_events(make_server: MakeServer, sim: Any) -> None:
    server = make_server(retries=1)
    with server.client() as client:
        session_id = create_session(client)
        sim.state.enqueue_faults(["429:0"])
        _, events = stream(client, session_id, "hi")
    retries = [data for name, data in events if name == "retry"]
    assert retries == [
        {"event": "retry", "attempt": 1, "delay": 0.0, "code": "rate_limit_exceeded", "status": 429}
    ]
    assert events[-1][0] == "done"


@pytest.mark.slow
def test_the_gateway_key_never_reaches_a_response(server: ServerThread, sim: Any) -> None:
    seen: list[str] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append(response.text)
        seen.append(json.dumps(dict(response.headers)))

    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": "Bearer server-key-alice-0123456789abcdef"},
        event_hooks={"response": [keep]},
    ) as client:
        session_id = create_session(client)
        for fault in ("leak_key", "leak_key"):
            sim.state.enqueue_faults([fault])
            client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
            sim.state.enqueue_faults([fault])
            stream(client, session_id, "hi")
        client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
        for path in ("/v1/sessions", f"/v1/sessions/{session_id}", "/v1/usage"):
            client.get(path)
        for path in ("/v1/capabilities", "/openapi.json", "/docs", "/healthz", "/nothing"):
            client.get(path)
    assert any("invalid_api_key" in text for text in seen)  # the leaky failure did happen
    assert len(seen) > 20
    for text in seen:
        assert GATEWAY_KEY not in text
        assert "SECRET-0123" not in text


def test_closing_the_stream_cancels_the_run_and_keeps_finished_steps(
    server: ServerThread, sim: Any
) -> None:
    with server.client() as client:
        session_id = create_session(client, tools=["calculate"])
        # Step 1 (the tool call) completes; step 2 stalls after its first text chunk.
        sim.state.enqueue_faults(["stall:0:0", "stall:2:10"])
        with client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": TOOL_PROMPT},
            headers=SSE,
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event: stream:delta"):
                    break  # hang up mid-answer
        deadline = time.monotonic() + 5
        while server.context.runs and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not server.context.runs
        detail = client.get(f"/v1/sessions/{session_id}").json()
        usage = client.get("/v1/usage").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "tool"]
    assert usage["totals"]["requests"] == 2
    assert usage["totals"]["unknown_cost_requests"] == 1  # the cancelled request


def test_concurrent_streams_on_one_server(server: ServerThread) -> None:
    results: list[str] = []

    def talk(index: int) -> None:
        with server.client() as client:
            session_id = create_session(client)
            _, events = stream(client, session_id, f"hello number {index}")
            results.append(events[-1][1]["text"])

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == sorted(
        f"[simulated minimax-m2.7] You said: hello number {i}. This reply comes from the offline "
        "alltoken-agent simulator; it is deterministic and no real model was called."
        for i in range(6)
    )

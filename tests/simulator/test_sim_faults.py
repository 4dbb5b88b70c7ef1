from __future__ import annotations

import json

import httpx
import pytest

from alltoken_agent.simulator import FAULT_HEADER, SimulatorServer

from .conftest import API_KEY
from .helpers import chat, data_chunks, events

STREAM = chat("gpt-5.4-nano", stream=True)


def fault(spec: str) -> dict[str, str]:
    return {FAULT_HEADER: spec}


def read_stream_lines(
    client: httpx.Client, spec: str, timeout: float = 5.0
) -> tuple[list[str], Exception | None]:
    """Read an SSE stream line by line; return the lines and the error that ended it, if any."""
    lines: list[str] = []
    try:
        with client.stream(
            "POST", "/chat/completions", json=STREAM, headers=fault(spec), timeout=timeout
        ) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                lines.append(line)
    except (httpx.RemoteProtocolError, httpx.ReadTimeout) as exc:
        return lines, exc
    return lines, None


def data_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("data: ")]


@pytest.mark.parametrize(
    ("spec", "retry_after"), [("429", "1"), ("429:7", "7"), ("429:none", None), ("429:0", "0")]
)
def test_rate_limit_fault(client: httpx.Client, spec: str, retry_after: str | None) -> None:
    response = client.post("/chat/completions", json=chat(), headers=fault(spec))
    assert response.status_code == 429
    assert response.headers.get("Retry-After") == retry_after
    assert response.headers["x-ratelimit-remaining"] == "0"
    error = response.json()["error"]
    assert (error["code"], error["type"]) == ("rate_limit_exceeded", "rate_limit_error")
    assert error["request_id"] == response.headers["x-gateway-request-id"]


@pytest.mark.parametrize(
    ("status", "code", "type_"),
    [
        (400, "invalid_request", "invalid_request_error"),
        (401, "invalid_api_key", "auth_error"),
        (402, "insufficient_balance", "billing_error"),
        (403, "forbidden", "permission_error"),
        (404, "not_found", "not_found_error"),
        (500, "internal_error", "api_error"),
        (502, "upstream_error", "api_error"),
        (503, "all_providers_failed", "api_error"),
    ],
)
def test_status_faults(client: httpx.Client, status: int, code: str, type_: str) -> None:
    for response in (
        client.post("/chat/completions", json=STREAM, headers=fault(str(status))),
        client.get("/models", headers=fault(str(status))),
    ):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert (error["code"], error["type"], error["param"]) == (code, type_, None)
        assert "simulated" in error["message"]
        assert "Retry-After" not in response.headers


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_fault_may_carry_retry_after(client: httpx.Client, status: int) -> None:
    response = client.post("/chat/completions", json=chat(), headers=fault(f"{status}:3"))
    assert (response.status_code, response.headers.get("Retry-After")) == (status, "3")
    assert response.headers["x-ratelimit-remaining"] != "0"  # not a rate limit
    assert response.json()["error"]["code"] in {
        "internal_error",
        "upstream_error",
        "all_providers_failed",
    }
    refused = client.post("/chat/completions", json=chat(), headers=fault("404:3"))
    assert refused.status_code == 400  # Retry-After only on statuses worth retrying


def test_html502_is_not_json(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat(), headers=fault("html502"))
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html>Bad Gateway</html>"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_leak_key_echoes_the_token_but_the_log_does_not(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    response = client.post("/chat/completions", json=chat(), headers=fault("leak_key"))
    assert response.status_code == 401
    assert API_KEY in response.json()["error"]["message"]
    assert response.headers["x-upstream-authorization"] == f"Bearer {API_KEY}"
    (record,) = sim.state.requests
    assert record.fault == "leak_key"
    assert record.has_auth is True
    assert API_KEY not in json.dumps(record.to_dict())
    assert "authorization" not in record.headers


def test_disconnect_mid_stream(client: httpx.Client, sim: SimulatorServer) -> None:
    lines, error = read_stream_lines(client, "disconnect:3")
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(data_lines(lines)) == 3
    assert "data: [DONE]" not in lines
    assert sim.state.requests[-1].fault == "disconnect:3"
    # the server is fine afterwards
    assert client.post("/chat/completions", json=chat()).status_code == 200


def test_disconnect_before_any_chunk(client: httpx.Client) -> None:
    lines, error = read_stream_lines(client, "disconnect:0")
    assert isinstance(error, httpx.RemoteProtocolError)
    assert data_lines(lines) == []


def test_disconnect_non_stream_sends_no_response(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.post("/chat/completions", json=chat(), headers=fault("disconnect:0"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/models", headers=fault("disconnect:5"))
    assert [r.status for r in sim.state.requests] == [None, None]


def test_malformed_chunk_then_normal_rest(client: httpx.Client) -> None:
    clean = client.post("/chat/completions", json=STREAM).text
    response = client.post("/chat/completions", json=STREAM, headers=fault("malformed:2"))
    evs = events(response.text)
    assert evs[2] == 'data: {"choices": ['
    with pytest.raises(json.JSONDecodeError):
        json.loads(evs[2][len("data: ") :])
    assert len(evs) == len(events(clean)) + 1

    def strip_ids(items: list[str]) -> list[object]:
        out: list[object] = []
        for item in items:
            if item.startswith("data: {"):
                chunk = json.loads(item[len("data: ") :])
                out.append({k: v for k, v in chunk.items() if k not in ("id", "created")})
            else:
                out.append(item)
        return out

    assert strip_ids(evs[:2] + evs[3:]) == strip_ids(events(clean))
    assert evs[-2] == "data: [DONE]"


def test_no_done_ends_cleanly_without_done_or_cost(client: httpx.Client) -> None:
    lines, error = read_stream_lines(client, "no_done")
    assert error is None
    assert "data: [DONE]" not in lines
    assert not any(line.startswith(":") for line in lines)
    last = json.loads(data_lines(lines)[-1][len("data: ") :])
    assert last["choices"][0]["finish_reason"] == "stop"


def test_eof_ends_cleanly_after_n_chunks(client: httpx.Client) -> None:
    lines, error = read_stream_lines(client, "eof:4")
    assert error is None
    chunks = [json.loads(line[len("data: ") :]) for line in data_lines(lines)]
    assert len(chunks) == 4
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert "data: [DONE]" not in lines


def test_body_faults_on_non_stream_requests(client: httpx.Client) -> None:
    for spec in ("malformed:1", "eof:1"):
        response = client.post("/chat/completions", json=chat(), headers=fault(spec))
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()
    normal = client.post("/chat/completions", json=chat(), headers=fault("no_done"))
    assert normal.json()["choices"][0]["finish_reason"] == "stop"


def test_slow_first_byte(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post("/chat/completions", json=chat(), headers=fault("slow:0.6"), timeout=0.15)
    response = client.post("/chat/completions", json=chat(), headers=fault("slow:0.05"))
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.05


def test_stall_after_n_chunks(client: httpx.Client) -> None:
    lines, error = read_stream_lines(client, "stall:2:0.6", timeout=0.15)
    assert isinstance(error, httpx.ReadTimeout)
    assert len(data_lines(lines)) == 2
    lines, error = read_stream_lines(client, "stall:2:0.05")
    assert error is None
    assert "data: [DONE]" in lines
    clean = client.post("/chat/completions", json=STREAM).text
    assert len(data_lines(lines)) == len(data_chunks(clean)) + 1  # + [DONE]


def test_queued_faults_are_consumed_in_order(
    client: httpx.Client, root: httpx.Client, sim: SimulatorServer
) -> None:
    queued = root.post("/_sim/faults", json={"faults": ["429:2", "500"]})
    assert queued.status_code == 200
    assert queued.json()["pending"] == ["429:2", "500"]
    first = client.post("/chat/completions", json=chat())
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert client.get("/models").status_code == 500
    assert client.post("/chat/completions", json=chat()).status_code == 200
    assert [r.fault for r in sim.state.requests] == ["429:2", "500", None]
    assert [r.status for r in sim.state.requests] == [429, 500, 200]


def test_header_fault_wins_and_leaves_queue(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.enqueue_faults(["500"])
    assert client.post("/chat/completions", json=chat(), headers=fault("503")).status_code == 503
    assert sim.state.pending_faults == ["500"]
    assert client.post("/chat/completions", json=chat()).status_code == 500
    assert sim.state.pending_faults == []


def test_faults_apply_before_auth(sim: SimulatorServer) -> None:
    sim.state.enqueue_faults(["402"])
    with httpx.Client(base_url=sim.base_url, trust_env=False) as anonymous:
        assert anonymous.post("/chat/completions", json=chat()).status_code == 402
        assert anonymous.post("/chat/completions", json=chat()).status_code == 401


def test_unknown_fault_specs_are_rejected(
    client: httpx.Client, root: httpx.Client, sim: SimulatorServer
) -> None:
    for spec in ("418", "bogus", "429:soon", "disconnect", "stall:2", "slow:-1", "eof:x"):
        response = client.post("/chat/completions", json=chat(), headers=fault(spec))
        assert response.status_code == 400, spec
        error = response.json()["error"]
        assert error["code"] == "invalid_fault_spec"
        assert spec.lower() in error["message"]
    rejected = root.post("/_sim/faults", json={"faults": ["500", "nope"]})
    assert rejected.status_code == 400
    assert "nope" in rejected.json()["error"]["message"]
    assert sim.state.pending_faults == []
    with pytest.raises(ValueError, match="unknown fault spec"):
        sim.state.enqueue_faults(["teapot"])

"""The simulator names itself on every reply, so a client can keep its costs out of real spend."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer
from alltoken_agent.simulator.app import IDENTITY, IDENTITY_HEADER

AUTH = {"Authorization": "Bearer sk-sim"}
CHAT = {"model": "gpt-5.4-nano", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def labelled() -> Iterator[SimulatorServer]:
    with SimulatorServer("alltoken") as server:
        yield server


def _labelled(response: httpx.Response) -> bool:
    return response.headers.get(IDENTITY_HEADER) == IDENTITY


def test_every_kind_of_reply_is_labelled(labelled: SimulatorServer) -> None:
    labelled.state.reset()
    labelled.state.media.image_seconds = 0
    with httpx.Client(base_url=labelled.base_url, headers=AUTH, timeout=10) as client:
        replies: dict[str, Any] = {
            "chat": client.post("/chat/completions", json=CHAT),
            "stream": client.post("/chat/completions", json={**CHAT, "stream": True}),
            "models": client.get("/models"),
            "no key": client.post("/chat/completions", json=CHAT, headers={"Authorization": ""}),
            "fault": client.post("/chat/completions", json=CHAT, headers={"X-Sim-Fault": "503"}),
            "no route": client.get("/no/such/endpoint"),
            "catalog": client.get(f"{labelled.url}/api-account/models"),
        }
        created = client.post(
            "/images/generations/async", json={"model": "gpt-image-2", "prompt": "a fox"}
        )
        replies["media create"] = created
        task = created.json()["id"]
        deadline = time.monotonic() + 10
        while (status := client.get(f"/images/generations/{task}")).json()["status"] != "completed":
            assert time.monotonic() < deadline, status.text
        replies["media status"] = status
        url = status.json()["data"][0]["r2_url"]
        replies["bucket"] = client.get(url, headers={"Authorization": ""})
    assert [r.status_code for r in replies.values()] == [200, 200, 200, 401, 503, 404, 200, 202,
                                                         200, 200]  # fmt: skip
    unlabelled = [name for name, reply in replies.items() if not _labelled(reply)]
    assert unlabelled == []


def test_a_dropped_connection_still_works_with_the_label_on(labelled: SimulatorServer) -> None:
    """The label wraps `send`; the drop faults reach the socket through the raw one."""
    labelled.state.reset()
    with httpx.Client(base_url=labelled.base_url, headers=AUTH, timeout=10) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/chat/completions", json=CHAT, headers={"X-Sim-Fault": "disconnect:0"})
        assert _labelled(client.post("/chat/completions", json=CHAT))


def test_a_simulator_built_to_play_a_real_gateway_sends_no_label() -> None:
    with SimulatorServer("tokenhub", identify=False) as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", json=CHAT, headers=AUTH)
    assert reply.status_code == 200 and IDENTITY_HEADER not in reply.headers

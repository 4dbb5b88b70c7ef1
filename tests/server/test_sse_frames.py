"""Delta events go on the wire pre-encoded: the same bytes as their JSON view, encoded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alltoken_agent.agent import ReasoningDeltaEvent, StreamDeltaEvent
from alltoken_agent.agent._model_requests import reasoning_delta, stream_delta
from alltoken_agent.server.sse import delta_frame, encode
from tests.server.conftest import ServerThread, create_session

TEXTS = [
    "",
    "plain words",
    'quotes " and \\ backslashes',
    "lines\nand\ttabs\r\x00\x1f controls",
    "accents é, CJK 漢字, emoji 🙂",
    "</script><!-- -->",
    "\u2028\u2029 separators",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_stream_delta_frame_is_its_json_view_encoded(text: str) -> None:
    for event in (StreamDeltaEvent(text, "before" + text), stream_delta(text, ["x", text])):
        assert delta_frame(event.name, event.delta) == encode(event.name, event.to_dict())


@pytest.mark.parametrize("text", TEXTS)
def test_a_reasoning_delta_frame_is_its_json_view_encoded(text: str) -> None:
    for event in (ReasoningDeltaEvent(text, text), reasoning_delta(text, [text])):
        assert delta_frame(event.name, event.delta) == encode(event.name, event.to_dict())


def test_a_delta_frame_reads_back_as_the_event() -> None:
    frame = delta_frame("stream:delta", 'say "hi"\n')
    head, data, end = frame.decode().split("\n", 2)
    assert head == "event: stream:delta" and end == "\n"
    assert json.loads(data.removeprefix("data: ")) == {
        "event": "stream:delta",
        "delta": 'say "hi"\n',
    }


def test_the_encoders_refuse_a_lone_surrogate_so_none_may_reach_them() -> None:
    """Neither path writes text that is not UTF-8; the gateway layer keeps such text out."""
    event = StreamDeltaEvent("a \ud800", "a \ud800")
    with pytest.raises(UnicodeEncodeError):
        encode(event.name, event.to_dict())
    with pytest.raises(UnicodeEncodeError):
        delta_frame(event.name, event.delta)


CLEAN = "lone high \ufffd, lone low \ufffd, pair \U0001f600."
"""The simulator's `lone_surrogate` text, made safe by the gateway layer."""


def test_a_lone_surrogate_from_the_gateway_streams_to_done_as_a_replacement_character(
    server: ServerThread, sim: Any
) -> None:
    """A gateway that spells ``"\\ud800"`` no longer breaks the stream (nor the store)."""
    with server.client() as client:
        session_id = create_session(client)
        sim.state.enqueue_faults(["lone_surrogate"])
        with client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "hi"},
            headers={"Accept": "text/event-stream"},
        ) as response:
            body = response.read()
        sim.state.enqueue_faults(["lone_surrogate"])
        reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "again"})
        detail = client.get(f"/v1/sessions/{session_id}").json()
    assert response.status_code == 200
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in body.decode("utf-8").split("\n\n"):  # strict: the frames are UTF-8
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    assert events[-1][0] == "done"
    streamed = "".join(data["delta"] for name, data in events if name == "stream:delta")
    assert streamed.endswith(" " + CLEAN)
    assert reply.status_code == 200 and reply.json()["text"].endswith(" " + CLEAN)
    saved = [m["content"] for m in detail["messages"] if m["role"] == "assistant"]
    assert len(saved) == 2 and all(text.endswith(" " + CLEAN) for text in saved)

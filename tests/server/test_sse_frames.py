"""Delta events go on the wire pre-encoded: the same bytes as their JSON view, encoded."""

from __future__ import annotations

import json

import pytest

from alltoken_agent.agent import ReasoningDeltaEvent, StreamDeltaEvent
from alltoken_agent.agent._model_requests import reasoning_delta, stream_delta
from alltoken_agent.server.sse import delta_frame, encode

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


def test_a_lone_surrogate_fails_alike_either_way() -> None:
    """Neither path writes text that is not UTF-8 (a gateway may send ``"\\ud800"``)."""
    event = StreamDeltaEvent("a \ud800", "a \ud800")
    with pytest.raises(UnicodeEncodeError):
        encode(event.name, event.to_dict())
    with pytest.raises(UnicodeEncodeError):
        delta_frame(event.name, event.delta)

"""Delta events built for the hot path: one per streamed chunk (see ``stream_delta``)."""

from __future__ import annotations

from alltoken_agent.agent.events import ReasoningDeltaEvent, StreamDeltaEvent

_new = object.__new__


def stream_delta(delta: str, pieces: list[str]) -> StreamDeltaEvent:
    """``StreamDeltaEvent(delta, accumulated="".join(pieces))``, built for the hot path.

    One is built per streamed chunk. A frozen dataclass's ``__init__`` sets each field
    through ``object.__setattr__``, and joining the text so far for every chunk copies
    it all each time (quadratic in the reply): most of what the agent would add per
    chunk. Here the event is built in one step and keeps ``pieces`` (the reply's chunks,
    appended to by the caller) with how many are its own; ``accumulated`` is joined the
    first time it is read. The object is the same otherwise: equal to, and printed,
    hashed and passed to hooks like, one built by its constructor.
    """
    event = _new(StreamDeltaEvent)
    fields_ = event.__dict__
    fields_["delta"] = delta
    fields_["_pieces"] = pieces
    fields_["_upto"] = len(pieces)
    return event


def reasoning_delta(delta: str, pieces: list[str]) -> ReasoningDeltaEvent:
    """``ReasoningDeltaEvent``, built as :func:`stream_delta` builds its event."""
    event = _new(ReasoningDeltaEvent)
    fields_ = event.__dict__
    fields_["delta"] = delta
    fields_["_pieces"] = pieces
    fields_["_upto"] = len(pieces)
    return event

"""Events compare, hash and print by their fields, as dataclasses' own methods did."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from alltoken_agent.agent import events
from alltoken_agent.agent.events import (
    StreamDeltaEvent,
    ThinkingStartEvent,
    ToolCallEvent,
    UsageEvent,
)

EVENT_CLASSES = [
    value
    for value in vars(events).values()
    if isinstance(value, type)
    and issubclass(value, events._Event)
    and value is not events._Event
    and value.__module__ == events.__name__
]


def reference(cls: type[Any]) -> type[Any]:
    """The same fields under dataclass's generated methods (what the events had before)."""
    spec = [
        (f.name, f.type, dataclasses.field(default=f.default, repr=f.repr))
        for f in dataclasses.fields(cls)
    ]
    return dataclasses.make_dataclass(cls.__name__, spec, frozen=True)


def sample(cls: type[Any], marker: str) -> dict[str, Any]:
    return {
        f.name: f"{marker}-{f.name}"
        for f in dataclasses.fields(cls)
        if f.name != "name" and f.default is dataclasses.MISSING
    }


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_an_event_compares_hashes_and_prints_as_a_dataclass_would(cls: type[Any]) -> None:
    ref = reference(cls)
    one, same, other = sample(cls, "a"), sample(cls, "a"), sample(cls, "b")
    assert (cls(**one) == cls(**same)) == (ref(**one) == ref(**same)) is True
    assert (cls(**one) == cls(**other)) == (ref(**one) == ref(**other))
    assert hash(cls(**one)) == hash(cls(**same))
    assert repr(cls(**one)) == repr(ref(**one))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cls(**one).name = "x"


def test_events_of_different_kinds_are_never_equal() -> None:
    assert ThinkingStartEvent() == ThinkingStartEvent()
    assert ThinkingStartEvent() != events.ReasoningStartEvent()
    assert StreamDeltaEvent(delta="a", accumulated="a") != ("a", "a")
    assert ToolCallEvent("t", {"x": 1}, "c") == ToolCallEvent("t", {"x": 1}, "c")
    with pytest.raises(TypeError):  # unhashable arguments, as before
        hash(ToolCallEvent("t", {"x": 1}, "c"))
    assert len(EVENT_CLASSES) >= 20 and UsageEvent in EVENT_CLASSES

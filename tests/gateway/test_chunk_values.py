"""The stream's chunks behave as the slotted dataclasses they were.

Their ``__init__`` is written out and their equality and repr are shared
(gateway/types.py): each is checked against the same fields under dataclass's own
generated methods.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from alltoken_agent.gateway import types
from alltoken_agent.gateway.types import ContentDelta, Cost, StreamFinish, ToolCallDelta, Usage

CHUNKS = [
    types.ContentDelta,
    types.ReasoningDelta,
    types.ToolCallDelta,
    types.StreamFinish,
    types.UsageChunk,
    types.CostComment,
]


def reference(cls: type[Any]) -> type[Any]:
    """The same fields as a plain ``@dataclass(slots=True)``."""
    spec = [(f.name, f.type, dataclasses.field(default=f.default)) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, spec, slots=True)


def sample(cls: type[Any], marker: str) -> dict[str, Any]:
    return {
        f.name: f"{marker}-{f.name}"
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
    }


def parameters(cls: type[Any]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]


@pytest.mark.parametrize("cls", CHUNKS, ids=lambda cls: cls.__name__)
def test_a_chunk_builds_compares_and_prints_as_its_dataclass_did(cls: type[Any]) -> None:
    ref = reference(cls)
    one, other = sample(cls, "a"), sample(cls, "b")
    assert parameters(cls) == parameters(ref)
    assert cls.__match_args__ == ref.__match_args__ and cls.__slots__ == ref.__slots__
    assert cls(**one) == cls(*one.values()) and (cls(**one) == cls(**other)) is False
    assert repr(cls(**one)) == repr(ref(**one))
    assert cls(**one).kind == ref(**one).kind == dataclasses.fields(cls)[-1].default
    assert cls(**one) != ref(**one)  # another class: never equal, as before
    with pytest.raises(TypeError):
        hash(cls(**one))  # compared by value and mutable: unhashable, as before
    with pytest.raises(AttributeError):
        cls(**one).extra = 1  # slotted: no instance dict
    assert dataclasses.is_dataclass(cls) and not hasattr(cls(**one), "__dict__")


def test_chunks_hold_what_the_stream_reads() -> None:
    call = ToolCallDelta(0, "c1", None, "{")
    assert (call.index, call.id, call.name, call.arguments, call.kind) == (
        0,
        "c1",
        None,
        "{",
        "tool_call",
    )
    assert ContentDelta("a") == ContentDelta("a") != ContentDelta("b")
    assert StreamFinish("stop") != ContentDelta("stop")
    usage = Usage(prompt_tokens=1, completion_tokens=2, total_tokens=3)
    assert types.UsageChunk(usage).usage is usage
    match types.CostComment(Cost(amount=None)):
        case types.CostComment(cost, kind):
            assert cost == Cost(amount=None) and kind == "cost"

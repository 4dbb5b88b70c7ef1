"""Events' written-out ``__init__`` takes what the dataclass's generated one took.

The events are dataclasses for ``fields()`` and ``__match_args__`` only (see
agent/_event_base.py): their constructors, immutability and pickling are checked here
against the same fields under dataclass's own generated methods.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from alltoken_agent.agent import events
from alltoken_agent.agent.result import DoneEvent, RetryEvent
from tests.agent.test_event_values import EVENT_CLASSES, reference, sample

CLASSES = [*EVENT_CLASSES, DoneEvent, RetryEvent]
"""The agent's events and the run's own two (agent/result.py), built the same way."""


def parameters(cls: type[Any]) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of the constructor's parameters, ``name`` left out."""
    signature = inspect.signature(cls)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name != "name"]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_an_events_constructor_takes_its_fields_in_order_with_their_defaults(
    cls: type[Any],
) -> None:
    assert parameters(cls) == parameters(reference(cls))
    # `name` is fixed by the class: not a parameter, so not a positional pattern either.
    assert cls.__match_args__ == tuple(n for n in reference(cls).__match_args__ if n != "name")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_an_event_built_positionally_holds_its_fields_and_stays_frozen(cls: type[Any]) -> None:
    given = sample(cls, "v")
    values = list(given.values())
    event = cls(*values)
    assert event == cls(**given) and [getattr(event, name) for name in given] == values
    ref, other = reference(cls), sample(cls, "w")
    assert repr(event) == repr(ref(**given)) and (event == cls(**other)) == (not given)
    assert hash(event) == hash(cls(**given)) == hash(ref(**given))
    assert event.to_dict()["event"] == event.name == cls.name
    field_names = [f.name for f in dataclasses.fields(cls)]
    for name in [*field_names, "other"]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(event, name, "x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(event, name)
    with pytest.raises(TypeError):
        cls(*values, "one too many", "and another")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_an_event_pickles_copies_and_replaces_to_an_equal_one(cls: type[Any]) -> None:
    event = cls(**sample(cls, "p"))
    for twin in (pickle.loads(pickle.dumps(event)), copy.copy(event), copy.deepcopy(event)):
        assert type(twin) is cls and twin == event and repr(twin) == repr(event)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "name"]
    if names:
        changed = dataclasses.replace(event, **{names[0]: "changed"})
        assert getattr(changed, names[0]) == "changed" and changed != event


def test_an_event_that_takes_no_fields_takes_no_arguments() -> None:
    assert events.ThinkingStartEvent() == events.ThinkingStartEvent()
    with pytest.raises(TypeError):
        events.ThinkingStartEvent("x")  # type: ignore[call-arg]


def test_the_run_results_events_are_still_frozen_dataclasses_of_their_own() -> None:
    retry = RetryEvent(attempt=1, delay=0.5, code="rate_limited", status=429)
    assert retry.to_dict() == {
        "event": "retry",
        "attempt": 1,
        "delay": 0.5,
        "code": "rate_limited",
        "status": 429,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        retry.attempt = 2  # type: ignore[misc]
    assert hash(retry) == hash(RetryEvent(1, 0.5, "rate_limited", 429))
    assert dataclasses.is_dataclass(DoneEvent)

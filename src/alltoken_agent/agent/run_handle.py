"""``agent.stream(...)``'s handle: the events of one run, then its result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Generic

from alltoken_agent.agent._blocking import OutputT
from alltoken_agent.agent.events import AgentEvent
from alltoken_agent.agent.loop import Turn
from alltoken_agent.agent.result import RunResult


class AgentRun(Generic[OutputT]):
    """``async for event in agent.stream(...)``; after the last event, ``result`` is set."""

    def __init__(self, events: AsyncIterator[AgentEvent], turn: Turn) -> None:
        self._events = events
        self._turn = turn

    def __aiter__(self) -> AsyncIterator[AgentEvent]:
        return self._events

    @property
    def result(self) -> RunResult[OutputT]:
        """The run's outcome; available once every event has been read."""
        if self._turn.result is None:
            raise RuntimeError("the run has not finished yet")
        return self._turn.result

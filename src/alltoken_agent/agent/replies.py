"""A model reply as the loop sees it: its events, its history message, its health."""

from __future__ import annotations

import json
from typing import Any

from alltoken_agent.agent.events import (
    AgentEvent,
    ReasoningDeltaEvent,
    ReasoningEndEvent,
    ReasoningStartEvent,
    StreamDeltaEvent,
    StreamEndEvent,
)
from alltoken_agent.gateway import ChatResult


def replay(result: ChatResult) -> list[AgentEvent]:
    """The events of a non-streamed reply, as if it had streamed in one piece.

    ``stream:start`` is not among them: it goes out before the request.
    """
    events: list[AgentEvent] = []
    if result.reasoning:
        events.append(ReasoningStartEvent())
        events.append(ReasoningDeltaEvent(delta=result.reasoning, accumulated=result.reasoning))
        events.append(ReasoningEndEvent(reasoning=result.reasoning))
    if result.text:
        events.append(StreamDeltaEvent(delta=result.text, accumulated=result.text))
    events.append(StreamEndEvent(text=result.text, finish_reason=result.finish_reason))
    return events


def assistant_message(result: ChatResult) -> dict[str, Any]:
    """The reply as a history message; reasoning kept for families that want it back."""
    message = result.to_message()
    if result.reasoning:
        message["reasoning_content"] = result.reasoning
    return message


def has_broken_calls(result: ChatResult) -> bool:
    """Whether a tool call came back without a name or with arguments that are not JSON."""
    for call in result.tool_calls:
        if not call.name:
            return True
        try:
            json.loads(call.arguments)
        except ValueError:
            return True
    return False

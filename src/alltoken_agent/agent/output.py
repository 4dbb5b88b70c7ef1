"""A model's reply as the loop reads it: its events, its history message, its output.

Structured output (``OutputSpec``): ask for a JSON schema, validate the reply, retry
once with the errors.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from alltoken_agent.agent.events import (
    AgentEvent,
    ReasoningDeltaEvent,
    ReasoningEndEvent,
    ReasoningStartEvent,
    StreamDeltaEvent,
    StreamEndEvent,
)
from alltoken_agent.errors import UserError
from alltoken_agent.gateway import ChatResult

if TYPE_CHECKING:  # pydantic loads with the first output type (a plain chat has none)
    from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

# Models often wrap JSON in a Markdown fence even when told not to.
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


class OutputSpec(Generic[T]):
    """How to request and validate one output type."""

    def __init__(self, output_type: type[T]) -> None:
        from pydantic import TypeAdapter

        self.output_type = output_type
        self._adapter: TypeAdapter[T] = TypeAdapter(output_type)
        schema = self._adapter.json_schema()
        if schema.get("type") != "object":
            raise UserError(
                f"output_type {getattr(output_type, '__name__', output_type)!r} must be an "
                "object type (a pydantic model, dataclass or TypedDict)"
            )
        self.schema = schema
        self.name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(output_type, "__name__", "output"))

    def response_format(self) -> dict[str, Any]:
        """The ``response_format`` request field."""
        # strict=False: pydantic schemas rarely meet OpenAI's strict-mode subset
        # (every property required, additionalProperties false), and gateways
        # forward the block verbatim.
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": False},
        }

    def parse(self, text: str) -> T:
        """Validate the reply; raises pydantic's ``ValidationError``."""
        fenced = _FENCE.match(text)
        return self._adapter.validate_json(fenced.group(1) if fenced else text.strip())

    @staticmethod
    def retry_message(error: ValidationError) -> dict[str, Any]:
        """The user message that asks the model to fix an invalid reply."""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()
        )
        return {
            "role": "user",
            "content": "Your reply did not match the required JSON schema: "
            f"{problems}. Reply again with only a JSON document that matches the schema.",
        }


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

"""Values that come out of the gateway client: results, usage, cost and stream events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from alltoken_agent.config import PriceSettings

_THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class Usage:
    """Token counts of one request."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    """Part of ``completion_tokens`` spent on reasoning."""
    cached_tokens: int = 0
    """Part of ``prompt_tokens`` served from the prompt cache."""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The usage object as the gateway sent it."""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Usage:
        """Parse an OpenAI-style usage object, tolerating missing parts."""
        prompt_details = data.get("prompt_tokens_details") or {}
        completion_details = data.get("completion_tokens_details") or {}
        prompt = _int(data.get("prompt_tokens"))
        completion = _int(data.get("completion_tokens"))
        cached = _int(prompt_details.get("cached_tokens")) or _int(
            data.get("cache_read_input_tokens")
        )
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=_int(data.get("total_tokens")) or prompt + completion,
            reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
            cached_tokens=cached,
            raw=dict(data),
        )

    def to_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
        }


@dataclass(frozen=True)
class Cost:
    """What a request cost, as the gateway reported it (AllToken's SSE cost comment)."""

    amount: Decimal
    """USD."""
    input_price: Decimal | None = None
    """USD per 1,000 prompt tokens."""
    output_price: Decimal | None = None
    """USD per 1,000 completion tokens."""
    source: Literal["gateway", "estimated"] = "gateway"

    @classmethod
    def from_comment(cls, data: Mapping[str, Any]) -> Cost | None:
        """Parse the cost comment; None when it holds no usable ``cost``."""
        amount = _decimal(data.get("cost"))
        if amount is None:
            return None
        return cls(
            amount=amount,
            input_price=_decimal(data.get("input_price")),
            output_price=_decimal(data.get("output_price")),
        )

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready dict; money stays a decimal string so no digit is lost."""
        return {
            "cost": str(self.amount),
            "currency": "USD",
            "input_price": None if self.input_price is None else str(self.input_price),
            "output_price": None if self.output_price is None else str(self.output_price),
            "source": self.source,
        }


@dataclass(frozen=True)
class ToolCall:
    """A complete function call requested by the model."""

    id: str
    name: str
    arguments: str
    """The JSON text exactly as assembled; ``{}`` when the model sent none."""

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (raises ``ValueError`` when they are not JSON)."""
        return json.loads(self.arguments)

    def to_message(self) -> dict[str, Any]:
        """The OpenAI wire form used in an assistant message's ``tool_calls``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class ChatResult:
    """The outcome of one chat completion request."""

    text: str
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    cost: Cost | None = None
    model: str | None = None
    request_id: str | None = None
    response_id: str | None = None

    def to_message(self) -> dict[str, Any]:
        """The assistant message to append to a conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        return message


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model in USD; None where the model is not billed that way."""

    model: str
    input_per_1k: Decimal | None = None
    """Per 1,000 prompt tokens (AllToken's unit, as in its cost comment)."""
    output_per_1k: Decimal | None = None
    """Per 1,000 completion tokens."""
    per_image: Decimal | None = None
    per_video_second: Decimal | None = None
    source: Literal["catalog", "config"] = "catalog"

    def chat_cost(self, usage: Usage) -> Decimal | None:
        """Cost of a chat request from its token counts; None without token prices."""
        if self.input_per_1k is None or self.output_per_1k is None:
            return None
        return (
            usage.prompt_tokens * self.input_per_1k + usage.completion_tokens * self.output_per_1k
        ) / _THOUSAND

    def with_overrides(self, settings: PriceSettings) -> ModelPrice:
        """This price with the config's fields replacing the catalog's."""
        changes = {k: v for k, v in settings.model_dump().items() if v is not None}
        return replace(self, source="config", **changes) if changes else self


# Stream events. Slotted and not frozen: one is built per chunk on the hot path,
# and frozen dataclasses pay for object.__setattr__ on every field.


@dataclass(slots=True)
class ContentDelta:
    """A fragment of the answer text."""

    text: str
    kind: Literal["content"] = "content"


@dataclass(slots=True)
class ReasoningDelta:
    """A fragment of the model's reasoning, streamed before the answer."""

    text: str
    kind: Literal["reasoning"] = "reasoning"


@dataclass(slots=True)
class ToolCallDelta:
    """A fragment of a tool call; fragments with the same ``index`` belong together."""

    index: int
    id: str | None
    name: str | None
    arguments: str
    kind: Literal["tool_call"] = "tool_call"


@dataclass(slots=True)
class StreamFinish:
    """The model stopped: ``stop``, ``length``, ``tool_calls`` or ``content_filter``."""

    reason: str
    kind: Literal["finish"] = "finish"


@dataclass(slots=True)
class UsageChunk:
    """The usage chunk (asked for on every stream)."""

    usage: Usage
    kind: Literal["usage"] = "usage"


@dataclass(slots=True)
class CostComment:
    """AllToken's cost comment, which arrives after ``data: [DONE]``."""

    cost: Cost
    kind: Literal["cost"] = "cost"


StreamEvent = (
    ContentDelta | ReasoningDelta | ToolCallDelta | StreamFinish | UsageChunk | CostComment
)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None

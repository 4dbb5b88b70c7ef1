"""Values that come out of the gateway client: results, prices and stream events.

Usage and cost, and their validation on the way in, live in ``accounting.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

# Cost and Usage are re-exported: they are public (``alltoken_agent.gateway``) and the
# agent's modules import them from here.
from alltoken_agent._frozen import FrozenValue
from alltoken_agent.gateway._settings import section_values
from alltoken_agent.gateway.accounting import AccountingNotice
from alltoken_agent.gateway.accounting import Cost as Cost
from alltoken_agent.gateway.accounting import Usage as Usage
from alltoken_agent.money import token_cost

if TYPE_CHECKING:
    from alltoken_agent.config import PriceSettings


# The frozen values write out their __init__ and share FrozenValue's methods: dataclass
# would compile its generated ones at every import (see gateway/accounting.py).


@dataclass(init=False, eq=False, repr=False)
class ToolCall(FrozenValue):
    """A complete function call requested by the model."""

    id: str
    name: str
    arguments: str
    """The JSON text exactly as assembled; ``{}`` when the model sent none."""

    def __init__(self, id: str, name: str, arguments: str) -> None:
        self.__dict__.update(id=id, name=name, arguments=arguments)

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


@dataclass(init=False, eq=False, repr=False)
class ChatResult(FrozenValue):
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
    notices: tuple[AccountingNotice, ...] = ()
    """Why ``usage`` or ``cost`` is unknown when the gateway's account of them was
    missing or invalid; empty when both were fine (or, like TokenHub's cost, never sent)."""
    service_tier: str | None = None
    """The tier that served the request (``default``, ``flex``; docs/wire-format.md
    §1.4), or None when the gateway did not say (or said something that is no tier)."""

    def __init__(
        self,
        text: str,
        reasoning: str = "",
        tool_calls: tuple[ToolCall, ...] = (),
        finish_reason: str | None = None,
        usage: Usage | None = None,
        cost: Cost | None = None,
        model: str | None = None,
        request_id: str | None = None,
        response_id: str | None = None,
        notices: tuple[AccountingNotice, ...] = (),
        service_tier: str | None = None,
    ) -> None:
        self.__dict__.update(
            text=text,
            reasoning=reasoning,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            usage=usage,
            cost=cost,
            model=model,
            request_id=request_id,
            response_id=response_id,
            notices=notices,
            service_tier=service_tier,
        )

    def to_message(self) -> dict[str, Any]:
        """The assistant message to append to a conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message() for call in self.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        return message


@dataclass(init=False, eq=False, repr=False)
class ModelPrice(FrozenValue):
    """Prices of one model in USD; None where the model is not billed that way."""

    model: str
    input_per_1k: Decimal | None = None
    """Per 1,000 prompt tokens (AllToken's unit, as in its cost comment)."""
    output_per_1k: Decimal | None = None
    """Per 1,000 completion tokens."""
    per_image: Decimal | None = None
    per_video_second: Decimal | None = None
    source: Literal["catalog", "config"] = "catalog"

    def __init__(
        self,
        model: str,
        input_per_1k: Decimal | None = None,
        output_per_1k: Decimal | None = None,
        per_image: Decimal | None = None,
        per_video_second: Decimal | None = None,
        source: Literal["catalog", "config"] = "catalog",
    ) -> None:
        self.__dict__.update(
            model=model,
            input_per_1k=input_per_1k,
            output_per_1k=output_per_1k,
            per_image=per_image,
            per_video_second=per_video_second,
            source=source,
        )

    def chat_cost(self, usage: Usage) -> Decimal | None:
        """Cost of a chat request from its token counts; None without token prices."""
        return token_cost(
            usage.prompt_tokens, usage.completion_tokens, self.input_per_1k, self.output_per_1k
        )

    def with_overrides(self, settings: PriceSettings) -> ModelPrice:
        """This price with the config's fields replacing the catalog's."""
        changes = {k: v for k, v in section_values(settings).items() if v is not None}
        return replace(self, source="config", **changes) if changes else self


# Stream events. Slotted and not frozen: one is built per chunk on the hot path,
# and frozen dataclasses pay for object.__setattr__ on every field. Their __init__ is
# written out and the rest is _Chunk's, as dataclass's generated methods would do:
# dataclass compiles those from source at every import (a chat's start-up pays for it).


class _Chunk:
    __slots__ = ()
    __match_args__: tuple[str, ...]
    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        names = self.__match_args__
        return [getattr(self, n) for n in names] == [getattr(other, n) for n in names]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__match_args__)
        return f"{type(self).__qualname__}({shown})"


@dataclass(slots=True, init=False, repr=False, eq=False)
class ContentDelta(_Chunk):
    """A fragment of the answer text."""

    text: str
    kind: Literal["content"] = "content"

    def __init__(self, text: str, kind: Literal["content"] = "content") -> None:
        self.text = text
        self.kind = kind


@dataclass(slots=True, init=False, repr=False, eq=False)
class ReasoningDelta(_Chunk):
    """A fragment of the model's reasoning, streamed before the answer."""

    text: str
    kind: Literal["reasoning"] = "reasoning"

    def __init__(self, text: str, kind: Literal["reasoning"] = "reasoning") -> None:
        self.text = text
        self.kind = kind


@dataclass(slots=True, init=False, repr=False, eq=False)
class ToolCallDelta(_Chunk):
    """A fragment of a tool call; fragments with the same ``index`` belong together."""

    index: int
    id: str | None
    name: str | None
    arguments: str
    kind: Literal["tool_call"] = "tool_call"

    def __init__(
        self,
        index: int,
        id: str | None,
        name: str | None,
        arguments: str,
        kind: Literal["tool_call"] = "tool_call",
    ) -> None:
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
        self.kind = kind


@dataclass(slots=True, init=False, repr=False, eq=False)
class StreamFinish(_Chunk):
    """The model stopped: ``stop``, ``length``, ``tool_calls`` or ``content_filter``."""

    reason: str
    kind: Literal["finish"] = "finish"

    def __init__(self, reason: str, kind: Literal["finish"] = "finish") -> None:
        self.reason = reason
        self.kind = kind


@dataclass(slots=True, init=False, repr=False, eq=False)
class UsageChunk(_Chunk):
    """The usage chunk (asked for on every stream)."""

    usage: Usage
    kind: Literal["usage"] = "usage"

    def __init__(self, usage: Usage, kind: Literal["usage"] = "usage") -> None:
        self.usage = usage
        self.kind = kind


@dataclass(slots=True, init=False, repr=False, eq=False)
class CostComment(_Chunk):
    """AllToken's cost comment, which arrives after ``data: [DONE]``."""

    cost: Cost
    kind: Literal["cost"] = "cost"

    def __init__(self, cost: Cost, kind: Literal["cost"] = "cost") -> None:
        self.cost = cost
        self.kind = kind


StreamEvent = (
    ContentDelta | ReasoningDelta | ToolCallDelta | StreamFinish | UsageChunk | CostComment
)

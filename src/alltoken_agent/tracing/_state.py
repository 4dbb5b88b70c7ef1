"""What tracing remembers about a run in progress: its span, step, open tools and totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from alltoken_agent.gateway.records import RequestRecord


@dataclass
class PendingRequest:
    """A model request's span waiting for its step's finish reason."""

    span: Span
    end_ns: int
    """When the request ended, by its record."""
    finish_reason: str | None = None
    text: str | None = None
    """The step's answer text (None until ``stream:end``)."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """The calls the reply asked for, as GenAI parts (content capture only)."""


@dataclass
class RunState:
    """One run (a user message to a final answer or an error) of one agent."""

    span: Span
    context: Context
    """The run span as a parent."""
    in_step: bool = False
    """Between ``stream:start`` and ``stream:end``: a record now is the step's request."""
    step: int = 0
    step_model: str | None = None
    step_input: str | None = None
    """The messages sent in this step, as JSON (content capture only)."""
    trimmed: int = 0
    """Messages the next request leaves out to fit the model's context."""
    step_trimmed: bool = False
    """This step's request was trimmed."""
    pending: PendingRequest | None = None
    tools: dict[str, Span] = field(default_factory=dict)
    """Open tool spans by call id."""
    denied: set[str] = field(default_factory=set)
    """Call ids whose approval was refused."""
    finish_reason: str | None = None
    """The last step's."""
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal | None = None

    def child_context(self) -> Context:
        """Where work started outside a step belongs: the one running tool, else the run."""
        if len(self.tools) == 1:
            return trace.set_span_in_context(next(iter(self.tools.values())))
        return self.context

    def count(self, record: RequestRecord) -> None:
        """Add a request to the run's totals."""
        self.requests += 1
        if record.usage is not None:
            self.input_tokens += record.usage.prompt_tokens
            self.output_tokens += record.usage.completion_tokens
        if record.cost is not None:
            self.cost = (self.cost or Decimal(0)) + record.cost.amount


def fitted(messages: list[dict[str, Any]], dropped: int) -> list[dict[str, Any]]:
    """The history as the request sent it, fitted to the model's context.

    The agent keeps the system prompt and leaves out the ``dropped`` oldest messages
    after it (whole turns), as ``context:trimmed`` reports.
    """
    if not dropped:
        return messages
    head = 1 if messages and messages[0].get("role") == "system" else 0
    return messages[:head] + messages[head + dropped :]

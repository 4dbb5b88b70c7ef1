"""One turn of the agent: model requests, tool calls, fallbacks, structured output.

History stays consistent under cancellation: a step's assistant message and
its tool results are committed together, only once every result is in, so a
cancelled turn never leaves a tool call without its result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from alltoken_agent.agent.approval import (
    ApprovalDecision,
    ApprovalHandler,
    ApprovalRequest,
    decide,
    denied_result,
    edited_note,
)
from alltoken_agent.agent.context import (
    ASSUMED_CONTEXT,
    ContextPolicy,
    fit_messages,
    request_tokens,
)
from alltoken_agent.agent.events import (
    AgentEvent,
    ContextTrimmedEvent,
    CostEvent,
    MessageAssistantEvent,
    ModelFallbackEvent,
    ReasoningDeltaEvent,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)
from alltoken_agent.agent.families import FamilyTable
from alltoken_agent.agent.output import OutputSpec
from alltoken_agent.agent.result import (
    CostTally,
    RunResult,
    StopReason,
    ToolCallRecord,
    add_usage,
)
from alltoken_agent.agent.tools import Tool, ToolContext, ToolOutcome
from alltoken_agent.errors import (
    AllModelsFailedError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    MaxStepsExceededError,
    NotFoundError,
    OutputValidationError,
    RateLimitError,
    UpstreamError,
)
from alltoken_agent.gateway import (
    ChatResult,
    ContentDelta,
    Gateway,
    ReasoningDelta,
    request_tags,
)
from alltoken_agent.gateway.types import ToolCall, Usage


def can_fall_back(error: GatewayError) -> bool:
    """Whether the next model of a chain may take over after ``error`` (retries spent).

    Never on 400/401/402/403: another model would fail the same way, or cost money
    the user has not got. A model the gateway cannot route (404) is worth skipping.
    """
    if isinstance(error, (UpstreamError, GatewayTimeoutError, GatewayConnectionError)):
        return True
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, NotFoundError) and error.code == "upstream_model_not_found"


@dataclass
class TurnSettings:
    """Everything one turn needs from the agent, fixed for the turn."""

    gateway: Gateway
    models: Sequence[str]
    tools: dict[str, Tool]
    max_steps: int
    stream: bool
    families: FamilyTable
    fields_for: Callable[[str], dict[str, Any]]
    """Request fields for a model (search flag, thinking, sampling...)."""
    tools_for: Callable[[str], list[Tool]]
    """Tools offered to a model (adds web_search where search is not native)."""
    before_request: Callable[[str, list[dict[str, Any]], dict[str, Any]], list[AgentEvent]] = (
        lambda model, messages, fields: []
    )
    """Called before each model request; may raise (a budget) or return events (warnings)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Request tags for the ledger (the agent's id); set around every gateway call."""
    approval: ApprovalHandler | None = None
    needs_approval: Callable[[Tool], bool] = lambda tool: tool.requires_approval
    context_limits: dict[str, int] = field(default_factory=dict)
    """Context length per model, where known; requests are fitted to it."""
    context_policy: ContextPolicy = "trim"
    context_lookup: Callable[[str], Awaitable[int | None]] | None = None
    """Finds a model's context length (the catalog) when a request is long enough to
    need it; short requests never pay for the lookup."""
    output: OutputSpec[Any] | None = None
    deltas: bool = True
    """Build per-chunk delta events (skipped when nobody listens, to save CPU)."""


@dataclass
class _Step:
    result: ChatResult
    model: str


@dataclass
class Turn:
    """Runs one user turn; ``events()`` yields as it goes, ``result`` holds the outcome."""

    settings: TurnSettings
    history: list[dict[str, Any]]
    """The agent's history, appended to in place at commit points."""
    user_message: dict[str, Any]
    result: RunResult[Any] | None = None
    _model_index: int = 0
    _usage: Usage = field(default_factory=Usage)
    _costs: CostTally = field(default_factory=CostTally)
    _calls: list[ToolCallRecord] = field(default_factory=list)
    _request_ids: list[str] = field(default_factory=list)
    _start: int = 0
    _steps: int = 0
    _fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def events(self) -> AsyncIterator[AgentEvent]:
        """Run the turn, yielding every event."""
        s = self.settings
        self._start = len(self.history)
        self.history.append(self.user_message)
        output_retried = False
        step = 0
        while True:
            step += 1
            box: list[_Step] = []
            async for event in self._request(step, box):
                yield event
            done = box[0]
            reply = done.result
            if reply.tool_calls:
                async for event in self._run_tools(step, done):
                    yield event
                if step >= s.max_steps:
                    self.result = self._finish("", None, "max_steps", done.model)
                    raise MaxStepsExceededError(
                        f"the agent used all {s.max_steps} steps (max_steps) without a final "
                        "answer; raise max_steps or simplify the task",
                        result=self.result,
                    )
                continue
            message = self._assistant_message(reply)
            output: Any = reply.text
            if s.output is not None:
                try:
                    output = s.output.parse(reply.text)
                except ValidationError as error:
                    if output_retried:
                        self.history.append(message)
                        raise OutputValidationError(
                            f"the reply did not match {s.output.name} after a retry: "
                            f"{error.error_count()} validation errors",
                            text=reply.text,
                        ) from None
                    output_retried = True
                    self.history.extend([message, OutputSpec.retry_message(error)])
                    continue
            self.history.append(message)
            yield MessageAssistantEvent(content=reply.text)
            reason: StopReason = "stop"
            if reply.finish_reason == "length":
                reason = "length"
            elif reply.finish_reason == "content_filter":
                reason = "content_filter"
            self.result = self._finish(reply.text, output, reason, done.model)
            return

    # -- model requests -----------------------------------------------------

    def _wire_messages(self, model: str) -> list[dict[str, Any]]:
        if self.settings.families.lookup(model).echo_reasoning:
            return list(self.history)
        return [
            {k: v for k, v in m.items() if k != "reasoning_content"}
            if "reasoning_content" in m
            else m
            for m in self.history
        ]

    def _request_fields(self, model: str) -> dict[str, Any]:
        # Built once per model and turn: schemas are copied, and a turn has many steps.
        cached = self._fields.get(model)
        if cached is None:
            cached = dict(self.settings.fields_for(model))
            tools = self.settings.tools_for(model)
            if tools:
                cached["tools"] = [t.wire_definition() for t in tools]
            if self.settings.output is not None:
                cached["response_format"] = self.settings.output.response_format()
            self._fields[model] = cached
        return cached

    async def _request(self, step: int, box: list[_Step]) -> AsyncIterator[AgentEvent]:
        """One model request with the fallback chain; puts the outcome in ``box``."""
        models = self.settings.models
        failures: list[tuple[str, GatewayError]] = []
        while True:
            model = models[self._model_index]
            messages = self._wire_messages(model)
            limit = self.settings.context_limits.get(model)
            if limit is None and self.settings.context_lookup is not None:
                if request_tokens(messages, self._request_fields(model)) > ASSUMED_CONTEXT:
                    limit = await self.settings.context_lookup(model)
            if limit:
                fit = fit_messages(
                    messages,
                    self._request_fields(model),
                    limit=limit,
                    policy=self.settings.context_policy,
                )
                if fit.dropped:
                    messages = fit.messages
                    yield ContextTrimmedEvent(
                        model=model,
                        dropped=fit.dropped,
                        tokens_before=fit.tokens_before,
                        tokens_after=fit.tokens_after,
                        limit=limit,
                    )
            for event in self.settings.before_request(model, messages, self._request_fields(model)):
                yield event
            try:
                if self.settings.stream:
                    async for event in self._stream_once(step, model, messages, box):
                        yield event
                else:
                    yield StreamStartEvent(model=model, step=step)
                    with request_tags(**self.settings.tags):
                        result = await self.settings.gateway.chat(
                            messages, model=model, **self._request_fields(model)
                        )
                    for event in self._replay(result):
                        yield event
                    box.append(_Step(result, model))
                break
            except GatewayError as error:
                if box or not can_fall_back(error) or self._model_index + 1 >= len(models):
                    if failures:
                        raise AllModelsFailedError([*failures, (model, error)]) from error
                    raise
                failures.append((model, error))
                self._model_index += 1
                yield ModelFallbackEvent(
                    from_model=model, to_model=models[self._model_index], error=str(error)
                )
        done = box[0]
        for event in self._account_events(done):
            yield event
        if self.settings.stream and _has_broken_calls(done.result):
            # Some hosts garble streamed tool-call fragments; one non-streamed retry
            # of the same step usually comes back whole.
            with request_tags(**self.settings.tags):
                retry = await self.settings.gateway.chat(
                    self._wire_messages(done.model),
                    model=done.model,
                    **self._request_fields(done.model),
                )
            box[0] = _Step(retry, done.model)
            for event in self._account_events(box[0]):
                yield event

    async def _stream_once(
        self, step: int, model: str, messages: list[dict[str, Any]], box: list[_Step]
    ) -> AsyncIterator[AgentEvent]:
        gateway = self.settings.gateway
        with request_tags(**self.settings.tags):
            stream = gateway.stream(messages, model=model, **self._request_fields(model))
        deltas = self.settings.deltas
        text = ""
        reasoning = ""
        async with stream:
            yield StreamStartEvent(model=model, step=step)
            async for chunk in stream:
                if isinstance(chunk, ContentDelta):
                    if reasoning and not text:
                        yield ThinkingEndEvent(reasoning=reasoning)
                    text += chunk.text
                    if deltas:
                        yield StreamDeltaEvent(delta=chunk.text, accumulated=text)
                elif isinstance(chunk, ReasoningDelta):
                    if not reasoning:
                        yield ThinkingStartEvent()
                    reasoning += chunk.text
                    if deltas:
                        yield ReasoningDeltaEvent(delta=chunk.text, accumulated=reasoning)
        if reasoning and not text:
            yield ThinkingEndEvent(reasoning=reasoning)
        result = stream.result
        yield StreamEndEvent(text=result.text, finish_reason=result.finish_reason)
        box.append(_Step(result, model))

    def _replay(self, result: ChatResult) -> list[AgentEvent]:
        """The events of a non-streamed reply, as if it had streamed in one piece."""
        events: list[AgentEvent] = []
        if result.reasoning:
            events.append(ThinkingStartEvent())
            events.append(ReasoningDeltaEvent(delta=result.reasoning, accumulated=result.reasoning))
            events.append(ThinkingEndEvent(reasoning=result.reasoning))
        if result.text:
            events.append(StreamDeltaEvent(delta=result.text, accumulated=result.text))
        events.append(StreamEndEvent(text=result.text, finish_reason=result.finish_reason))
        return events

    def _account(self, result: ChatResult) -> None:
        self._steps += 1
        self._usage = add_usage(self._usage, result.usage)
        self._costs.add(result.cost)
        if result.request_id:
            self._request_ids.append(result.request_id)

    def _account_events(self, step: _Step) -> list[AgentEvent]:
        self._account(step.result)
        events: list[AgentEvent] = []
        if step.result.usage is not None:
            events.append(UsageEvent(usage=step.result.usage, model=step.model))
        if step.result.cost is not None:
            events.append(CostEvent(cost=step.result.cost, model=step.model))
        return events

    # -- tools --------------------------------------------------------------

    async def _run_tools(self, step: int, done: _Step) -> AsyncIterator[AgentEvent]:
        calls = done.result.tool_calls
        for call in calls:
            yield ToolCallEvent(
                tool_name=call.name, arguments=_parsed(call.arguments), call_id=call.id
            )
        decisions: list[ApprovalDecision | None] = []
        for call in calls:
            tool = self._find_tool(call.name, done.model)
            if tool is None or not self.settings.needs_approval(tool):
                decisions.append(None)
                continue
            request = ApprovalRequest(call.name, _parsed(call.arguments), call.id)
            decision = await decide(self.settings.approval, request)
            decisions.append(decision)
            shown = decision.arguments if decision.action == "edit" else request.arguments
            yield ToolApprovalEvent(
                tool_name=call.name,
                arguments=shown,
                call_id=call.id,
                decision=decision.action,
                reason=decision.reason,
            )
        runs = [
            self._decided_call(call, decision, step, done.model)
            for call, decision in zip(calls, decisions, strict=True)
        ]
        # One call needs no task of its own; several run concurrently. Tags cover
        # gateway calls made by tools (web_search) too.
        with request_tags(**self.settings.tags):
            outcomes = [await runs[0]] if len(runs) == 1 else list(await asyncio.gather(*runs))
        tool_messages = []
        for call, outcome in zip(calls, outcomes, strict=True):
            self._calls.append(
                ToolCallRecord(
                    call_id=call.id,
                    name=call.name,
                    arguments=outcome.arguments,
                    result=outcome.content,
                    is_error=outcome.is_error,
                    step=step,
                )
            )
            tool_messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": outcome.content}
            )
        # Commit point: the call and its results enter the history together.
        self.history.extend([self._assistant_message(done.result), *tool_messages])
        for call, outcome in zip(calls, outcomes, strict=True):
            yield ToolResultEvent(
                tool_name=call.name,
                result=outcome.content,
                call_id=call.id,
                is_error=outcome.is_error,
            )

    async def _decided_call(
        self, call: ToolCall, decision: ApprovalDecision | None, step: int, model: str
    ) -> ToolOutcome:
        if decision is None or decision.action == "allow":
            return await self._run_tool(call.name, call.arguments, call.id, step, model)
        if decision.action == "deny":
            content = denied_result(decision)
            return ToolOutcome(content=content, is_error=True, arguments=_parsed(call.arguments))
        arguments = json.dumps(decision.arguments)
        outcome = await self._run_tool(call.name, arguments, call.id, step, model)
        return ToolOutcome(
            content=edited_note(decision.arguments) + outcome.content,
            is_error=outcome.is_error,
            arguments=outcome.arguments,
        )

    def _find_tool(self, name: str, model: str) -> Tool | None:
        tool = self.settings.tools.get(name)
        if tool is None:
            tool = next((t for t in self.settings.tools_for(model) if t.name == name), None)
        return tool

    async def _run_tool(
        self, name: str, arguments: str, call_id: str, step: int, model: str
    ) -> ToolOutcome:
        tool = self._find_tool(name, model)
        if tool is None:
            known = ", ".join(sorted(t.name for t in self.settings.tools_for(model))) or "none"
            return ToolOutcome(
                content=f"Error: unknown tool {name!r}; available tools: {known}",
                is_error=True,
                arguments=_parsed(arguments),
            )
        context = ToolContext(
            gateway=self.settings.gateway, model=model, call_id=call_id, step=step
        )
        return await tool.run(arguments, context)

    # -- results ------------------------------------------------------------

    @staticmethod
    def _assistant_message(result: ChatResult) -> dict[str, Any]:
        message = result.to_message()
        if result.reasoning:
            message["reasoning_content"] = result.reasoning
        return message

    def _finish(self, text: str, output: Any, reason: StopReason, model: str) -> RunResult[Any]:
        return RunResult(
            text=text,
            output=output,
            stop_reason=reason,
            steps=self._steps,
            model=model,
            messages=[dict(m) for m in self.history[self._start :]],
            tool_calls=list(self._calls),
            usage=self._usage,
            cost=self._costs.total,
            request_ids=list(self._request_ids),
        )


def _parsed(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _has_broken_calls(result: ChatResult) -> bool:
    for call in result.tool_calls:
        if not call.name:
            return True
        try:
            json.loads(call.arguments)
        except ValueError:
            return True
    return False

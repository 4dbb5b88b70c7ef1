"""The tool phase of one step: calls announced, approvals asked, tools run, results committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from alltoken_agent.agent.approval import ApprovalDecision, ApprovalRequest, decide
from alltoken_agent.agent.events import (
    AgentEvent,
    ErrorEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from alltoken_agent.agent.output import assistant_message
from alltoken_agent.agent.result import ToolCallRecord
from alltoken_agent.agent.tool_runner import ToolRunner, parse_arguments
from alltoken_agent.agent.turn_settings import TurnSettings
from alltoken_agent.gateway import ChatResult, request_tags


async def run_tool_step(
    settings: TurnSettings,
    step: int,
    reply: ChatResult,
    model: str,
    history: list[dict[str, Any]],
    records: list[ToolCallRecord],
    parsed: list[Any] | None = None,
) -> AsyncIterator[AgentEvent]:
    """Run the reply's tool calls; append the reply and its results to ``history``.

    ``parsed``: each call's arguments as ``parse_arguments`` reads them, when the
    caller has them already (None: read here).

    Events: ``tool:call`` for every call, then ``tool:approval`` for calls that
    needed one (an ``error`` first when the approval handler raised: that call
    is denied and the loop goes on), then ``tool:result`` for every call, in
    call order, once all are in the history.
    """
    calls = reply.tool_calls
    for call in calls if settings.wants("tool:call") else ():
        yield ToolCallEvent(
            tool_name=call.name, arguments=parse_arguments(call.arguments), call_id=call.id
        )
    runner = ToolRunner(
        tools=settings.tools,
        offered=settings.tools_for(model),
        gateway=settings.gateway,
        model=model,
        step=step,
    )
    decisions: list[ApprovalDecision | None] = []
    for call in calls:
        tool = runner.find(call.name)
        if tool is None or not settings.needs_approval(tool):
            decisions.append(None)
            continue
        request = ApprovalRequest(call.name, parse_arguments(call.arguments), call.id)
        verdict = await decide(settings.approval, request)
        decision = verdict.decision
        decisions.append(decision)
        if verdict.error is not None:
            yield ErrorEvent(error=verdict.error, source="approval")
        shown = decision.arguments if decision.action == "edit" else request.arguments
        yield ToolApprovalEvent(
            tool_name=call.name,
            arguments=shown,
            call_id=call.id,
            decision=decision.action,
            reason=decision.reason,
        )
    # Tags cover gateway calls made by tools (web_search) too.
    if parsed is None:
        parsed = [parse_arguments(call.arguments) for call in calls]
    with request_tags(**settings.tags):
        outcomes = await runner.run_all(calls, decisions, parsed)
    tool_messages = []
    for call, outcome in zip(calls, outcomes, strict=True):
        records.append(
            ToolCallRecord(
                call_id=call.id,
                name=call.name,
                arguments=outcome.arguments,
                result=outcome.content,
                is_error=outcome.is_error,
                step=step,
            )
        )
        tool_messages.append({"role": "tool", "tool_call_id": call.id, "content": outcome.content})
    # Commit point: the call and its results enter the history together.
    history.extend([assistant_message(reply), *tool_messages])
    for call, outcome in zip(calls, outcomes, strict=True) if settings.wants("tool:result") else ():
        yield ToolResultEvent(
            tool_name=call.name,
            result=outcome.content,
            call_id=call.id,
            is_error=outcome.is_error,
        )

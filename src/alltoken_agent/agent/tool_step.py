"""The tool phase of one step: calls announced, approvals asked, tools run, results committed.

A :class:`~alltoken_agent.agent.loop.Turn` drives a :class:`ToolStep` in four phases,
yielding each phase's events itself (no generator of the step's own, which every step
would pay for): ``announced()``, then ``decide(i)`` for each call ``needs_approval()``
lists, then ``run()``, then ``commit()``. Calls run concurrently (one call is awaited
in place) and their results come back in call order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from alltoken_agent.agent.approval import (
    ApprovalDecision,
    ApprovalRequest,
    decide,
    denied_result,
    edited_note,
)
from alltoken_agent.agent.events import (
    AgentEvent,
    ErrorEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from alltoken_agent.agent.function_tool import ToolContext
from alltoken_agent.agent.output import assistant_message
from alltoken_agent.agent.result import ToolCallRecord
from alltoken_agent.agent.tools import Tool, ToolOutcome
from alltoken_agent.gateway import ChatResult
from alltoken_agent.gateway._payload import loads  # lone surrogates made safe, as replies
from alltoken_agent.gateway.types import ToolCall

if TYPE_CHECKING:
    from alltoken_agent.agent._turn_settings import TurnSettings


def parse_arguments(arguments: str) -> Any:
    """The arguments as JSON, or the raw text when they are not JSON."""
    try:
        return loads(arguments)
    except ValueError:
        return arguments


def parse_calls(calls: Sequence[ToolCall]) -> list[Any] | None:
    """Each call's arguments parsed, or None when a call is broken (the reply is retried).

    Broken: no name, or arguments that are not JSON.
    The parsed values go on to the tools, so each call's JSON is read once.
    """
    parsed = []
    for call in calls:
        if not call.name:
            return None
        try:
            parsed.append(loads(call.arguments))
        except ValueError:
            return None
    return parsed


class ToolStep:
    """The tool calls of one reply: what the step offered, decided and got back."""

    __slots__ = (
        "_decisions",
        "_done",
        "_offered",
        "_parsed",
        "calls",
        "model",
        "reply",
        "settings",
        "step",
    )

    def __init__(
        self,
        settings: TurnSettings,
        step: int,
        reply: ChatResult,
        model: str,
        parsed: list[Any] | None = None,
    ) -> None:
        """Prepare the calls of ``reply``.

        Args:
            settings: The turn's settings.
            step: The step of the tool loop, from 1.
            reply: The reply whose ``tool_calls`` run.
            model: The model that gave it.
            parsed: Each call's arguments as ``parse_arguments`` reads them, when the
                caller has them already (None: read here).
        """
        self.settings = settings
        self.step = step
        self.reply = reply
        self.model = model
        self.calls = reply.tool_calls
        self._parsed = (
            parsed
            if parsed is not None
            else [parse_arguments(call.arguments) for call in self.calls]
        )
        self._offered: Sequence[Tool] | None = None
        # The calls someone decided, by position: most steps decide none.
        self._decisions: dict[int, ApprovalDecision] = {}
        # Each call with its outcome, once run: paired as they come back, so committing
        # them needs no zip (whose strict= keyword alone costs more than the pairing).
        self._done: list[tuple[ToolCall, ToolOutcome]] = []

    # -- the phases, in order ---------------------------------------------------

    def announced(self) -> list[AgentEvent]:
        """``tool:call`` for every call (nothing when nobody wants them)."""
        if not self.settings.wants("tool:call"):
            return []
        # Parsed again: a hook that edits its copy must not change what the tool gets.
        return [
            ToolCallEvent(
                tool_name=call.name, arguments=parse_arguments(call.arguments), call_id=call.id
            )
            for call in self.calls
        ]

    def needs_approval(self) -> list[int]:
        """The positions of the calls a person must decide, in call order."""
        names, tools = self.settings.approval_names, self.settings.tools
        found: list[int] = []
        for index, call in enumerate(self.calls):
            tool = tools.get(call.name) or self.find(call.name)
            if tool is not None and (tool.requires_approval or tool.name in names):
                found.append(index)
        return found

    async def decide(self, index: int) -> list[AgentEvent]:
        """Ask for call ``index``'s decision; its ``tool:approval`` event.

        An ``error`` event comes first when the approval handler raised: that call is
        denied and the turn goes on.
        """
        call = self.calls[index]
        request = ApprovalRequest(call.name, parse_arguments(call.arguments), call.id)
        verdict = await decide(self.settings.approval, request)
        decision = self._decisions[index] = verdict.decision
        events: list[AgentEvent] = []
        if verdict.error is not None:
            events.append(ErrorEvent(error=verdict.error, source="approval"))
        shown = decision.arguments if decision.action == "edit" else request.arguments
        events.append(
            ToolApprovalEvent(
                tool_name=call.name,
                arguments=shown,
                call_id=call.id,
                decision=decision.action,
                reason=decision.reason,
            )
        )
        return events

    async def run(self) -> None:
        """Run the calls, each as decided; the outcomes are kept for ``commit``."""
        calls, parsed, decisions = self.calls, self._parsed, self._decisions
        # Tags cover gateway calls made by tools (web_search) too.
        with self.settings.tagged:
            if len(calls) != 1:
                runs = [
                    self._decided(call, decisions.get(index), parsed[index])
                    for index, call in enumerate(calls)
                ]
                self._done = list(zip(calls, await asyncio.gather(*runs), strict=True))
            elif decisions:  # one call needs no task of its own
                call = calls[0]
                self._done = [(call, await self._decided(call, decisions[0], parsed[0]))]
            else:  # nobody decided it: what _decided would do, without its frame
                call = calls[0]
                self._done = [(call, await self._start(call, parsed[0], call.arguments))]

    def commit(
        self, history: list[dict[str, Any]], records: list[ToolCallRecord]
    ) -> list[AgentEvent]:
        """Append the reply and its results to ``history``; ``tool:result`` per call."""
        step, done = self.step, self._done
        tool_messages: list[dict[str, Any]] = [assistant_message(self.reply)]
        for call, outcome in done:
            records.append(
                ToolCallRecord(
                    call.id, call.name, outcome.arguments, outcome.content, outcome.is_error, step
                )
            )
            tool_messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": outcome.content}
            )
        # Commit point: the call and its results enter the history together.
        history.extend(tool_messages)
        if not self.settings.wants("tool:result"):
            return []
        return [
            ToolResultEvent(
                tool_name=call.name,
                result=outcome.content,
                call_id=call.id,
                is_error=outcome.is_error,
            )
            for call, outcome in done
        ]

    # -- running one call -----------------------------------------------------------

    def find(self, name: str) -> Tool | None:
        """The tool called ``name``, or None when the model made it up."""
        tool = self.settings.tools.get(name)
        if tool is None:
            tool = next((t for t in self.offered() if t.name == name), None)
        return tool

    def offered(self) -> Sequence[Tool]:
        """What the step's request offered (the agent's tools plus stand-ins like web_search)."""
        if self._offered is None:
            self._offered = self.settings.tools_for(self.model)
        return self._offered

    async def _decided(
        self, call: ToolCall, decision: ApprovalDecision | None, parsed: Any
    ) -> ToolOutcome:
        if decision is None or decision.action == "allow":
            return await self._start(call, parsed, call.arguments)
        if decision.action == "deny":
            content = denied_result(decision)
            return ToolOutcome(content=content, is_error=True, arguments=parsed)
        text = json.dumps(decision.arguments)
        outcome = await self._start(call, parse_arguments(text), text)
        return ToolOutcome(
            content=edited_note(decision.arguments) + outcome.content,
            is_error=outcome.is_error,
            arguments=outcome.arguments,
        )

    def _start(self, call: ToolCall, parsed: Any, text: str) -> Awaitable[ToolOutcome]:
        """The call run with ``parsed`` (read from ``text``): the tool's ``run``, to await.

        A plain function handing back the tool's coroutine, not a coroutine of its own:
        one frame fewer between the step and the tool.
        """
        tool = self.settings.tools.get(call.name) or self.find(call.name)
        if tool is None:
            known = ", ".join(sorted(t.name for t in self.offered())) or "none"
            return _ready(
                ToolOutcome(
                    content=f"Error: unknown tool {call.name!r}; available tools: {known}",
                    is_error=True,
                    arguments=parsed,
                )
            )
        # An object goes to the tool as parsed; anything else as the text, for the
        # tool's own message about it.
        arguments = parsed if type(parsed) is dict else text
        context = (  # built only for a tool that reads it
            ToolContext(self.settings.gateway, self.model, call.id, self.step)
            if tool.takes_context
            else None
        )
        return tool.run(arguments, context)


async def _ready(outcome: ToolOutcome) -> ToolOutcome:
    """An outcome known without running anything, as the awaitable ``_start`` returns."""
    return outcome

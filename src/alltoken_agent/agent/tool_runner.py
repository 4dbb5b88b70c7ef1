"""Running one step's tool calls: approved, denied or edited; concurrently; in call order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alltoken_agent.agent.approval import ApprovalDecision, denied_result, edited_note
from alltoken_agent.agent.tools import Tool, ToolContext, ToolOutcome
from alltoken_agent.gateway import Gateway
from alltoken_agent.gateway.types import ToolCall


def parse_arguments(arguments: str) -> Any:
    """The arguments as JSON, or the raw text when they are not JSON."""
    try:
        return json.loads(arguments)
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
            parsed.append(json.loads(call.arguments))
        except ValueError:
            return None
    return parsed


@dataclass
class ToolRunner:
    """The tools one step may call, and how to run them."""

    tools: Mapping[str, Tool]
    """The agent's own tools, by name."""
    offered: Sequence[Tool]
    """What the step's request offered (the agent's, plus any stand-ins like web_search)."""
    gateway: Gateway
    model: str
    step: int

    def find(self, name: str) -> Tool | None:
        """The tool called ``name``, or None when the model made it up."""
        tool = self.tools.get(name)
        if tool is None:
            tool = next((t for t in self.offered if t.name == name), None)
        return tool

    async def run_all(
        self,
        calls: Sequence[ToolCall],
        decisions: Sequence[ApprovalDecision | None],
        parsed: Sequence[Any],
    ) -> list[ToolOutcome]:
        """Run the calls (each as decided) and return their outcomes in call order.

        ``parsed`` holds each call's arguments as ``parse_arguments`` reads them.
        """
        # One call needs no task of its own; several run concurrently.
        if len(calls) == 1:
            return [await self._decided(calls[0], decisions[0], parsed[0])]
        runs = [self._decided(c, d, p) for c, d, p in zip(calls, decisions, parsed, strict=True)]
        return list(await asyncio.gather(*runs))

    async def _decided(
        self, call: ToolCall, decision: ApprovalDecision | None, parsed: Any
    ) -> ToolOutcome:
        if decision is None or decision.action == "allow":
            # An object goes to the tool as parsed; anything else as the text, for the
            # tool's own message about it.
            arguments = parsed if isinstance(parsed, dict) else call.arguments
            return await self._run(call.name, arguments, parsed, call.id)
        if decision.action == "deny":
            content = denied_result(decision)
            return ToolOutcome(content=content, is_error=True, arguments=parsed)
        text = json.dumps(decision.arguments)
        outcome = await self._run(call.name, text, parse_arguments(text), call.id)
        return ToolOutcome(
            content=edited_note(decision.arguments) + outcome.content,
            is_error=outcome.is_error,
            arguments=outcome.arguments,
        )

    async def _run(
        self, name: str, arguments: str | dict[str, Any], parsed: Any, call_id: str
    ) -> ToolOutcome:
        tool = self.find(name)
        if tool is None:
            known = ", ".join(sorted(t.name for t in self.offered)) or "none"
            return ToolOutcome(
                content=f"Error: unknown tool {name!r}; available tools: {known}",
                is_error=True,
                arguments=parsed,
            )
        context = ToolContext(
            gateway=self.gateway, model=self.model, call_id=call_id, step=self.step
        )
        return await tool.run(arguments, context)

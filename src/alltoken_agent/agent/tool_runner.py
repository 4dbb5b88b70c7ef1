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
        self, calls: Sequence[ToolCall], decisions: Sequence[ApprovalDecision | None]
    ) -> list[ToolOutcome]:
        """Run the calls (each as decided) and return their outcomes in call order."""
        runs = [self._decided(c, d) for c, d in zip(calls, decisions, strict=True)]
        # One call needs no task of its own; several run concurrently.
        if len(runs) == 1:
            return [await runs[0]]
        return list(await asyncio.gather(*runs))

    async def _decided(self, call: ToolCall, decision: ApprovalDecision | None) -> ToolOutcome:
        if decision is None or decision.action == "allow":
            return await self._run(call.name, call.arguments, call.id)
        if decision.action == "deny":
            content = denied_result(decision)
            return ToolOutcome(
                content=content, is_error=True, arguments=parse_arguments(call.arguments)
            )
        outcome = await self._run(call.name, json.dumps(decision.arguments), call.id)
        return ToolOutcome(
            content=edited_note(decision.arguments) + outcome.content,
            is_error=outcome.is_error,
            arguments=outcome.arguments,
        )

    async def _run(self, name: str, arguments: str, call_id: str) -> ToolOutcome:
        tool = self.find(name)
        if tool is None:
            known = ", ".join(sorted(t.name for t in self.offered)) or "none"
            return ToolOutcome(
                content=f"Error: unknown tool {name!r}; available tools: {known}",
                is_error=True,
                arguments=parse_arguments(arguments),
            )
        context = ToolContext(
            gateway=self.gateway, model=self.model, call_id=call_id, step=self.step
        )
        return await tool.run(arguments, context)

"""One reply of the agent: reasoning, tool panels and the answer, in arrival order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

from alltoken_agent.agent import (
    AgentEvent,
    BudgetWarningEvent,
    ContextTrimmedEvent,
    MessageAssistantEvent,
    ModelFallbackEvent,
    NoticeEvent,
    ReasoningDeltaEvent,
    ReasoningEndEvent,
    ReasoningStartEvent,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from alltoken_agent.tui.widgets.note_message import NoteMessage
from alltoken_agent.tui.widgets.reasoning_block import ReasoningBlock
from alltoken_agent.tui.widgets.tool_panel import ToolPanel


class AssistantTurn(Vertical):
    """Renders the events of one turn as they stream in."""

    def __init__(self, model: str, *children: Widget) -> None:
        super().__init__(*children)
        self.border_title = model
        self.text = ""
        """The final answer, once the turn finished."""
        self._answer: Markdown | None = None
        self._stream: MarkdownStream | None = None
        self._answer_text = ""
        self._reasoning: ReasoningBlock | None = None
        self._tools: dict[str, ToolPanel] = {}

    @property
    def tool_panels(self) -> list[ToolPanel]:
        """The tool panels of this turn, in call order."""
        return list(self._tools.values())

    async def show(self, event: AgentEvent) -> None:
        """Update the view for one agent event."""
        if isinstance(event, StreamStartEvent):
            await self._end_answer()
            if event.model != self.border_title:
                self.border_title = event.model
        elif isinstance(event, ReasoningStartEvent):
            # One block per reasoning:start/end pair (not per thinking:start, which marks
            # the whole run): a step without reasoning shows no empty block.
            self._end_reasoning()
            await self._start_reasoning()
        elif isinstance(event, ReasoningDeltaEvent):
            (self._reasoning or await self._start_reasoning()).append(event.delta)
        elif isinstance(event, ReasoningEndEvent) and self._reasoning is not None:
            self._reasoning.finish(event.reasoning)
            self._reasoning = None
        elif isinstance(event, StreamDeltaEvent):
            # The answer has begun, so any reasoning is over; its title stops saying so.
            self._end_reasoning()
            await self._write(event.delta)
        elif isinstance(event, StreamEndEvent):
            await self._end_answer()
        elif isinstance(event, ToolCallEvent):
            await self._add_tool(event.tool_name, event.arguments, event.call_id)
        elif isinstance(event, ToolApprovalEvent):
            await self.mount(approval_note(event))
        elif isinstance(event, ToolResultEvent):
            self.show_tool_result(event.call_id, event.result, is_error=event.is_error)
        elif isinstance(event, MessageAssistantEvent):
            self.text = event.content
        elif isinstance(event, NoticeEvent):
            await self.mount(NoteMessage(event.message))
        elif isinstance(event, ModelFallbackEvent):
            note = f"{event.from_model} failed ({event.error}); trying {event.to_model}"
            await self.mount(NoteMessage(note, kind="warning"))
        elif isinstance(event, BudgetWarningEvent):
            note = (
                f"{event.label}: ${event.spent:.4f} of ${event.limit:.2f} spent "
                f"({event.fraction_used:.0%})"
            )
            await self.mount(NoteMessage(note, kind="warning"))
        elif isinstance(event, ContextTrimmedEvent):
            note = (
                f"{event.dropped} oldest messages left out to fit {event.model}'s context "
                f"({event.tokens_before:,} to {event.tokens_after:,} of {event.limit:,} tokens)"
            )
            await self.mount(NoteMessage(note, kind="warning"))

    async def finish(self) -> None:
        """Flush and close any open stream (also after a cancel)."""
        await self._end_answer()
        self._end_reasoning()

    @classmethod
    def stored(cls, model: str, messages: Sequence[dict[str, Any]]) -> AssistantTurn:
        """A finished turn of a stored conversation, whole before it is mounted.

        ``messages``: the turn's assistant and tool messages, in order. Each reply shows
        its reasoning first, then its answer and its tool calls; a tool message fills its
        call's panel. Built unmounted, a resumed conversation is mounted in one go: one
        mount per widget restyled the whole log each time (minutes for 500 turns).
        """
        children: list[Widget] = []
        panels: dict[str, ToolPanel] = {}
        text = ""
        for message in messages:
            if message.get("role") == "tool":
                panel = panels.get(str(message.get("tool_call_id", "")))
                if panel is not None:
                    panel.set_result(plain_text(message.get("content")), is_error=False)
                continue
            reasoning = message.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning.strip():
                block = ReasoningBlock()
                block.finish(reasoning)
                children.append(block)
            content = message.get("content")
            if isinstance(content, str) and content:
                text = content
                children.append(Markdown(content))
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                raw = function.get("arguments", "")
                try:
                    arguments = json.loads(raw) if raw else {}
                except ValueError:
                    arguments = raw
                panel = ToolPanel(str(function.get("name", "?")), arguments, str(call.get("id")))
                panels[panel.call_id] = panel
                children.append(panel)
        turn = cls(model, *children)
        turn.text = text
        turn._tools = panels
        return turn

    def show_tool_result(self, call_id: str, result: str, *, is_error: bool = False) -> None:
        """Show a tool's result in its panel."""
        panel = self._tools.get(call_id)
        if panel is not None:
            panel.set_result(result, is_error=is_error)

    async def _add_tool(self, name: str, arguments: Any, call_id: str) -> None:
        panel = ToolPanel(name, arguments, call_id)
        self._tools[call_id] = panel
        await self.mount(panel)

    async def _start_reasoning(self) -> ReasoningBlock:
        self._reasoning = ReasoningBlock()
        await self.mount(self._reasoning)
        return self._reasoning

    def _end_reasoning(self) -> None:
        if self._reasoning is not None:
            self._reasoning.finish(self._reasoning.text)
            self._reasoning = None

    async def _write(self, delta: str) -> None:
        if self._stream is None:
            self._answer = Markdown()
            self._answer_text = ""
            await self.mount(self._answer)
            self._stream = Markdown.get_stream(self._answer)
        self._answer_text += delta
        await self._stream.write(delta)

    async def _end_answer(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None or self._answer is None:
            return
        await stream.stop()
        # Re-render from the whole text: a streamed document can keep stale fence state.
        await self._answer.update(self._answer_text)


def approval_note(event: ToolApprovalEvent) -> NoteMessage:
    """A one-line note of what was decided about a call that needed approval."""
    if event.decision == "deny":
        return NoteMessage(f"{event.tool_name}: denied: {event.reason}", kind="warning")
    if event.decision == "edit":
        shown = json.dumps(event.arguments, ensure_ascii=False)
        return NoteMessage(f"{event.tool_name}: edited, runs with {shown}")
    return NoteMessage(f"{event.tool_name}: allowed")


def plain_text(content: Any) -> str:
    """A stored message's content as text: its text parts joined (images are left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [str(p.get("text", "")) for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if t)
    return "" if content is None else str(content)

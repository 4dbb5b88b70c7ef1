"""The scrolling conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.containers import VerticalScroll
from textual.widget import Widget

from alltoken_agent.tui.timeline import MediaEntry
from alltoken_agent.tui.widgets.assistant_turn import AssistantTurn
from alltoken_agent.tui.widgets.media_result import MediaResult
from alltoken_agent.tui.widgets.user_message import UserMessage


class ChatLog(VerticalScroll):
    """Messages, replies and notes, newest at the bottom; follows new content."""

    can_focus = False

    def on_mount(self) -> None:
        """Stay scrolled to the bottom until the user scrolls up."""
        self.anchor()

    async def add(self, widget: Widget) -> Widget:
        """Mount ``widget`` at the end and keep it in view."""
        await self.mount(widget)
        self.anchor()
        return widget

    async def clear_messages(self) -> None:
        """Remove everything."""
        await self.remove_children()

    async def replay(
        self,
        messages: Sequence[dict[str, Any]],
        model: str,
        *,
        media: Sequence[MediaEntry] = (),
    ) -> None:
        """Show a stored conversation as it was shown live.

        User messages, replies with their reasoning, tool calls and results, and the
        media jobs where they finished (previews included).
        """
        turn: AssistantTurn | None = None
        pending = sorted(media, key=lambda entry: entry.after)
        for index, message in enumerate(messages):
            while pending and pending[0].after <= index:
                entry = pending.pop(0)
                await self.add(MediaResult(entry.kind, entry.prompt, list(entry.paths)))
                turn = None  # a reply after it is a turn of its own, as it was shown live
            role = message.get("role")
            if role == "user":
                turn = None
                await self.add(UserMessage(_text(message.get("content"))))
            elif role == "assistant":
                if turn is None:
                    turn = AssistantTurn(model)
                    await self.add(turn)
                await turn.show_stored(message)
            elif role == "tool" and turn is not None:
                turn.show_tool_result(
                    str(message.get("tool_call_id", "")), _text(message.get("content"))
                )
        for entry in pending:
            await self.add(MediaResult(entry.kind, entry.prompt, list(entry.paths)))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [str(p.get("text", "")) for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if t)
    return "" if content is None else str(content)

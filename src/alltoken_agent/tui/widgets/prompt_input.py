"""The message box: multi-line, Enter sends, with a history of what was sent."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = frozenset({"shift+enter", "ctrl+j"})
"""Keys that add a line instead of sending (Ctrl+J is what most terminals send for it)."""

PLACEHOLDER = "Message · Enter sends · Shift+Enter or Ctrl+J: new line · /help"


class PromptInput(TextArea):
    """A text area where Enter sends and Up/Down on the edge lines walk the history."""

    @dataclass
    class Submitted(Message):
        """The user pressed Enter on a non-empty message."""

        prompt_input: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            """The input that sent the message."""
            return self.prompt_input

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            placeholder=PLACEHOLDER,
            compact=True,
        )
        self.sent: list[str] = []
        """Messages sent, oldest first (``history`` is the TextArea's undo history)."""
        self._index: int | None = None
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        # Runs before TextArea's own handler; prevent_default() keeps that one out.
        key = event.key
        if key == "enter":
            self._consume(event)
            self._submit()
        elif key in NEWLINE_KEYS:
            self._consume(event)
            start, end = self.selection
            self.replace("\n", start, end, maintain_selection_offset=False)
        elif key == "up" and self.cursor_at_first_line and self._older():
            self._consume(event)
        elif key == "down" and self.cursor_at_last_line and self._newer():
            self._consume(event)

    def remember(self, text: str) -> None:
        """Add a sent message to the history (skipping an immediate repeat)."""
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._index = None
        self._draft = ""

    def _submit(self) -> None:
        text = self.text
        if not text.strip():
            return
        self.remember(text)
        self.clear()
        self.post_message(self.Submitted(self, text))

    def _older(self) -> bool:
        if not self.sent or self._index == 0:
            return False
        if self._index is None:
            self._draft = self.text
            self._index = len(self.sent)
        self._index -= 1
        self._show(self.sent[self._index])
        return True

    def _newer(self) -> bool:
        if self._index is None:
            return False
        self._index += 1
        if self._index >= len(self.sent):
            self._index = None
            self._show(self._draft)
        else:
            self._show(self.sent[self._index])
        return True

    def _show(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    @staticmethod
    def _consume(event: events.Key) -> None:
        event.stop()
        event.prevent_default()

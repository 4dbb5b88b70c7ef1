"""A short note in the chat: a command's answer, a retry, a cancelled reply."""

from __future__ import annotations

from textual.widgets import Static


class NoteMessage(Static):
    """A one-line (or few-line) note from the app, not from the model."""

    def __init__(self, text: str, *, kind: str = "info") -> None:
        super().__init__(text, markup=False, classes=f"note-{kind}")
        self.text = text

    def set_text(self, text: str) -> None:
        """Replace the note (a progress line that moves on)."""
        self.text = text
        self.update(text)

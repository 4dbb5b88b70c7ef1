"""A message the user sent."""

from __future__ import annotations

from textual.widgets import Static


class UserMessage(Static):
    """What the user sent, shown as typed (no markup)."""

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)
        self.text = text
        self.border_title = "You"

"""The model's reasoning for one step, folded away by default."""

from __future__ import annotations

from textual.widgets import Collapsible, Static


class ReasoningBlock(Collapsible):
    """A collapsible block that fills as reasoning streams in."""

    def __init__(self) -> None:
        self._body = Static("", markup=False, classes="reasoning-text")
        self.text = ""
        super().__init__(self._body, title="Thinking…", collapsed=True)

    def append(self, delta: str) -> None:
        """Add a fragment of reasoning."""
        self.text += delta
        self._body.update(self.text)

    def finish(self, reasoning: str) -> None:
        """Show the whole reasoning and a title with its length."""
        self.text = reasoning or self.text
        self._body.update(self.text)
        words = len(self.text.split())
        self.title = f"Reasoning ({words} words)"

"""The status bar: provider, model, thinking, tokens and cost so far, session."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

_SEPARATOR = (" │ ", "dim")


class StatusBar(Widget):
    """One line that redraws whenever one of its fields changes."""

    provider: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    thinking: reactive[bool] = reactive(False)
    totals: reactive[str] = reactive("0 tokens · cost n/a")
    """Tokens and cost of the session so far, already formatted."""
    session: reactive[str] = reactive("")
    """The stored session's name ("" before the first save)."""
    busy: reactive[bool] = reactive(False)
    """Whether a reply or a media job is running."""

    def render(self) -> Content:
        """The line, with the model in bold."""
        parts: list[str | tuple[str, str]] = [
            self.provider,
            _SEPARATOR,
            (self.model, "bold"),
            _SEPARATOR,
            "thinking on" if self.thinking else "thinking off",
            _SEPARATOR,
            self.totals,
        ]
        if self.session:
            parts += [_SEPARATOR, f"session: {self.session}"]
        if self.busy:
            parts += [_SEPARATOR, ("working… (Esc cancels)", "italic")]
        return Content.assemble(*parts)

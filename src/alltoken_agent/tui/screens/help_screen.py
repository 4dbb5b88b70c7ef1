"""``/help``: commands and keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from alltoken_agent.tui.commands import COMMANDS, KEYS


class HelpScreen(ModalScreen[None]):
    """A box listing every slash command and key binding; Esc closes it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        """The two tables, in one scrolling box."""
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc closes"
            yield Static(help_content(), id="help-text")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)


def help_content() -> Content:
    """Commands, then keys, as two aligned columns."""
    width = max(len(c.usage) for c in COMMANDS) + 2
    key_width = max(len(k) for k, _ in KEYS) + 2
    parts: list[str | tuple[str, str]] = [("Commands", "bold underline"), "\n"]
    for command in COMMANDS:
        parts += [(command.usage.ljust(width), "bold"), command.summary, "\n"]
    parts += ["\n", ("Keys", "bold underline"), "\n"]
    for key, summary in KEYS:
        parts += [(key.ljust(key_width), "bold"), summary, "\n"]
    parts += ["\n", "Start a message with // to send text that begins with /."]
    return Content.assemble(*parts)

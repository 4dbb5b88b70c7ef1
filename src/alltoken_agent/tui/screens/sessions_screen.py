"""``/sessions``: the stored conversations; choosing one resumes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from alltoken_agent.store import SessionRecord
from alltoken_agent.tui.widgets.error_message import describe_error

SessionLoader = Callable[[], Awaitable[list[SessionRecord]]]


class SessionsScreen(ModalScreen[SessionRecord | None]):
    """A list of sessions: name, last update, message count. Enter resumes, Esc closes."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, load: SessionLoader, current: str | None = None) -> None:
        super().__init__()
        self._load = load
        self.current = current
        self.records: list[SessionRecord] = []

    def compose(self) -> ComposeResult:
        """The list and a status line."""
        with Vertical(id="sessions-box") as box:
            box.border_title = "Stored sessions"
            box.border_subtitle = "Enter resumes · Esc closes"
            yield OptionList(id="sessions-list")
            yield Static("Loading sessions…", id="sessions-status")

    def on_mount(self) -> None:
        """Load the sessions in the background."""
        self.query_one("#sessions-list", OptionList).focus()
        self._fetch()

    @work(exclusive=True, exit_on_error=False)
    async def _fetch(self) -> None:
        status = self.query_one("#sessions-status", Static)
        try:
            self.records = await self._load()
        except Exception as error:  # shown in the screen; the app carries on
            status.update(f"Could not list sessions: {describe_error(error)}")
            return
        options = self.query_one("#sessions-list", OptionList)
        options.set_options(Option(self._row(r), id=r.id) for r in self.records)
        if self.records:
            options.highlighted = 0
        count = len(self.records)
        status.update(
            f"{count} session{'' if count == 1 else 's'}" if count else "No stored sessions yet"
        )

    @on(OptionList.OptionSelected, "#sessions-list")
    def _choose(self, event: OptionList.OptionSelected) -> None:
        chosen = next((r for r in self.records if r.id == event.option.id), None)
        self.dismiss(chosen)

    def action_close(self) -> None:
        """Keep the current session."""
        self.dismiss(None)

    def _row(self, record: SessionRecord) -> Content:
        name = record.name or record.id
        mark = "● " if name == self.current else "  "
        updated = record.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
        return Content.assemble(
            mark,
            (name.ljust(28), "bold"),
            (f"  {updated}  ", "dim"),
            f"{record.message_count} messages",
        )

"""``/sessions``: the stored conversations, searched as you type; choosing one resumes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from alltoken_agent.store import SessionRecord
from alltoken_agent.tui.sessions import StoredSession
from alltoken_agent.tui.widgets.error_message import describe_error

SessionLoader = Callable[[], Awaitable[list[StoredSession]]]


class SessionsScreen(ModalScreen[SessionRecord | None]):
    """Sessions by title, model, last update and size: type to filter, Enter resumes."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, load: SessionLoader, current: str | None = None) -> None:
        super().__init__()
        self._load = load
        self.current = current
        self.sessions: list[StoredSession] = []

    @property
    def records(self) -> list[SessionRecord]:
        """Every stored session listed (before any filter)."""
        return [s.record for s in self.sessions]

    def compose(self) -> ComposeResult:
        """A search box over the list, and a status line."""
        with Vertical(id="sessions-box") as box:
            box.border_title = "Stored sessions"
            box.border_subtitle = "Enter resumes · Esc closes"
            yield Input(placeholder="Search by title, name or model…", id="sessions-search")
            yield OptionList(id="sessions-list")
            yield Static("Loading sessions…", id="sessions-status")

    def on_mount(self) -> None:
        """Load the sessions in the background."""
        self.query_one("#sessions-search", Input).focus()
        self._fetch()

    @work(exclusive=True, exit_on_error=False)
    async def _fetch(self) -> None:
        status = self.query_one("#sessions-status", Static)
        try:
            self.sessions = await self._load()
        except Exception as error:  # shown in the screen; the app carries on
            status.update(f"Could not list sessions: {describe_error(error)}")
            return
        self._show(self.query_one("#sessions-search", Input).value)

    @on(Input.Changed, "#sessions-search")
    def _filter(self, event: Input.Changed) -> None:
        if self.sessions:
            self._show(event.value)

    @on(Input.Submitted, "#sessions-search")
    def _choose_highlighted(self) -> None:
        option = self.query_one("#sessions-list", OptionList).highlighted_option
        if option is not None:
            self._dismiss_with(option.id)

    @on(OptionList.OptionSelected, "#sessions-list")
    def _choose(self, event: OptionList.OptionSelected) -> None:
        self._dismiss_with(event.option.id)

    def action_move(self, step: int) -> None:
        """Move the highlight while typing."""
        options = self.query_one("#sessions-list", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_close(self) -> None:
        """Keep the current session."""
        self.dismiss(None)

    def _dismiss_with(self, session_id: str | None) -> None:
        chosen = next((r for r in self.records if r.id == session_id), None)
        if chosen is not None:
            self.dismiss(chosen)

    def _show(self, query: str) -> None:
        shown = [s for s in self.sessions if s.matches(query)]
        options = self.query_one("#sessions-list", OptionList)
        options.set_options(Option(self._row(s), id=s.record.id) for s in shown)
        if shown:
            options.highlighted = 0
        total = len(self.sessions)
        status = self.query_one("#sessions-status", Static)
        if not total:
            status.update("No stored sessions yet")
        elif query.strip():
            status.update(f"{len(shown)} of {total} sessions match")
        else:
            status.update(f"{total} session{'' if total == 1 else 's'}")

    def _row(self, session: StoredSession) -> Content:
        record = session.record
        mark = "● " if record.name is not None and record.name == self.current else "  "
        updated = record.updated_at.astimezone().strftime("%b %d %H:%M")
        # Columns sized to fit one line of the 86-cell box (a snapshot test pins it).
        return Content.assemble(
            mark,
            (_cut(session.title, 21), "bold"),
            (f"  {_cut(record.model or '', 18)}", "italic"),
            (f"  {updated}  ", "dim"),
            f"{record.message_count} messages",
        )


def _cut(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"

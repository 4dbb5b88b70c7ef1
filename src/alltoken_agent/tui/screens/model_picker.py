"""The model picker: the catalog's chat models, searched as you type, with prices."""

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

from alltoken_agent.tui.catalog import PickerModel
from alltoken_agent.tui.widgets.error_message import describe_error

ModelLoader = Callable[[], Awaitable[list[PickerModel]]]


class ModelPicker(ModalScreen[str | None]):
    """Pick a model: type to filter, Up/Down to move, Enter to choose, Esc to keep the old one."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, load: ModelLoader, current: str) -> None:
        super().__init__()
        self._load = load
        self.current = current
        self.models: list[PickerModel] = []

    def compose(self) -> ComposeResult:
        """A search box over the list, and a status line."""
        with Vertical(id="picker-box") as box:
            box.border_title = "Choose a model"
            box.border_subtitle = "Enter selects · Esc closes"
            yield Input(placeholder="Search models…", id="picker-search")
            yield OptionList(id="picker-list")
            yield Static("Loading models…", id="picker-status")

    def on_mount(self) -> None:
        """Load the models in the background."""
        self.query_one("#picker-search", Input).focus()
        self._fetch()

    @work(exclusive=True, exit_on_error=False)
    async def _fetch(self) -> None:
        status = self.query_one("#picker-status", Static)
        try:
            self.models = await self._load()
        except Exception as error:  # shown in the picker; the app carries on
            status.update(f"Could not load models: {describe_error(error)}")
            return
        self._show(self.query_one("#picker-search", Input).value)

    @on(Input.Changed, "#picker-search")
    def _filter(self, event: Input.Changed) -> None:
        if self.models:
            self._show(event.value)

    @on(Input.Submitted, "#picker-search")
    def _choose_highlighted(self) -> None:
        options = self.query_one("#picker-list", OptionList)
        option = options.highlighted_option
        if option is not None and option.id is not None:
            self.dismiss(option.id)

    @on(OptionList.OptionSelected, "#picker-list")
    def _choose(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        """Move the highlight while typing."""
        options = self.query_one("#picker-list", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_close(self) -> None:
        """Keep the current model."""
        self.dismiss(None)

    def _show(self, query: str) -> None:
        shown = [m for m in self.models if m.matches(query)]
        options = self.query_one("#picker-list", OptionList)
        options.set_options(Option(self._row(m), id=m.id) for m in shown)
        if shown:
            ids = [m.id for m in shown]
            options.highlighted = ids.index(self.current) if self.current in ids else 0
        total = len(self.models)
        self.query_one("#picker-status", Static).update(
            f"{len(shown)} of {total} models" if query else f"{total} models"
        )

    def _row(self, model: PickerModel) -> Content:
        width = max(len(m.id) for m in self.models) + 2
        mark = "● " if model.id == self.current else "  "
        return Content.assemble(mark, (model.id.ljust(width), "bold"), (model.price_text, "dim"))

"""The approval dialog: allow a tool call, deny it (with a reason) or edit its arguments."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

from alltoken_agent.agent import ApprovalDecision, ApprovalRequest

DEFAULT_REASON = "the user declined this call"
"""What the model reads when the user denies a call without giving a reason."""
_VIEW_HINT = "a/Enter allow · d/Esc deny · e edit"
_EDIT_HINT = "Ctrl+S runs with these arguments · Esc goes back"
_VIEW_ACTIONS = frozenset({"allow", "deny", "edit"})
"""Actions of the question itself; while editing, keys go to the editor instead."""


class ApprovalScreen(ModalScreen[ApprovalDecision]):
    """Asks whether one tool call may run; dismissed with the :class:`ApprovalDecision`.

    The reason box is optional: Enter in it (or Deny) denies with that reason, which the
    model reads. Edit opens the arguments as JSON; they must parse to a JSON object.
    """

    AUTO_FOCUS = "#approval-allow"
    BINDINGS = [
        Binding("a,enter", "allow", "Allow", show=False),
        Binding("d", "deny", "Deny", show=False),
        Binding("e", "edit", "Edit", show=False),
        Binding("escape", "escape", "Deny", show=False),
        Binding("ctrl+s", "run_edited", "Run edited", show=False),
    ]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request
        self.editing = False
        """Whether the arguments editor is open."""

    def compose(self) -> ComposeResult:
        """The call, the reason box and the buttons; the editor stays hidden until Edit."""
        shown = pretty_arguments(self.request.arguments)
        with Vertical(id="approval-box") as box:
            box.border_title = "Approve tool call?"
            box.border_subtitle = _VIEW_HINT
            yield Static(
                Content.assemble(
                    "The agent wants to run ", (self.request.tool_name, "bold"), " with:"
                ),
                id="approval-question",
            )
            with VerticalScroll(id="approval-arguments"):
                yield Static(shown, markup=False, id="approval-json")
            yield TextArea(shown, soft_wrap=True, id="approval-editor")
            yield Static("", markup=False, id="approval-error")
            yield Input(
                placeholder="Reason, if you deny (optional; the model reads it)",
                id="approval-reason",
            )
            with Horizontal(id="approval-buttons"):
                yield Button("Allow", variant="success", id="approval-allow")
                yield Button("Deny", variant="error", id="approval-deny")
                yield Button("Edit", variant="primary", id="approval-edit")
                yield Button("Run edited", variant="primary", id="approval-run")
                yield Button("Back", id="approval-back")

    # -- actions ----------------------------------------------------------------

    def action_allow(self) -> None:
        """Run the call as the model asked."""
        self.dismiss(ApprovalDecision.allow())

    def action_deny(self) -> None:
        """Do not run the call; the model reads the reason (or the default one)."""
        reason = self.query_one("#approval-reason", Input).value.strip()
        self.dismiss(ApprovalDecision.deny(reason or DEFAULT_REASON))

    def action_edit(self) -> None:
        """Open the arguments in an editor."""
        self._set_editing(True)

    def action_escape(self) -> None:
        """Esc denies; while editing it goes back to the question instead."""
        if self.editing:
            self._set_editing(False)
        else:
            self.action_deny()

    def action_run_edited(self) -> None:
        """Run the call with the edited arguments, once they are a JSON object."""
        text = self.query_one("#approval-editor", TextArea).text
        try:
            arguments = parse_edited(text)
        except ValueError as error:
            self._show_error(str(error))
            return
        if arguments == self.request.arguments:  # nothing changed: do not tell the model so
            self.dismiss(ApprovalDecision.allow())
        else:
            self.dismiss(ApprovalDecision.edit(arguments))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The question's keys work only outside the editor, Ctrl+S only inside it."""
        if action in _VIEW_ACTIONS:
            return not self.editing
        if action == "run_edited":
            return self.editing
        return True

    # -- events -----------------------------------------------------------------

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = {
            "approval-allow": self.action_allow,
            "approval-deny": self.action_deny,
            "approval-edit": self.action_edit,
            "approval-run": self.action_run_edited,
            "approval-back": self.action_escape,
        }.get(event.button.id or "")
        if action is not None:
            action()

    @on(Input.Submitted, "#approval-reason")
    def _reason_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_deny()

    @on(TextArea.Changed, "#approval-editor")
    def _edited(self) -> None:
        self._show_error("")

    def _set_editing(self, editing: bool) -> None:
        self.editing = editing
        box = self.query_one("#approval-box", Vertical)
        box.set_class(editing, "-editing")
        box.border_subtitle = _EDIT_HINT if editing else _VIEW_HINT
        self._show_error("")
        self.query_one("#approval-editor" if editing else "#approval-allow").focus()
        self.refresh_bindings()

    def _show_error(self, text: str) -> None:
        error = self.query_one("#approval-error", Static)
        error.update(text)
        error.display = bool(text)


def pretty_arguments(arguments: Any) -> str:
    """The arguments as indented JSON (raw text, when the model sent text that is not JSON)."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False)


def parse_edited(text: str) -> dict[str, Any]:
    """The edited arguments as a JSON object.

    Raises:
        ValueError: The text is not JSON, or not a JSON object; the message says which.
    """
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError(f"Not valid JSON: {error}. Fix it, or press Esc to go back.") from None
    if not isinstance(value, dict):
        raise ValueError("The arguments must be a JSON object ({...}).")
    return value

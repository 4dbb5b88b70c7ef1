"""The scrolling conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.containers import VerticalScroll
from textual.widget import Widget

from alltoken_agent.tui.timeline import MediaEntry
from alltoken_agent.tui.widgets.assistant_turn import AssistantTurn, plain_text
from alltoken_agent.tui.widgets.media_job import MediaJob
from alltoken_agent.tui.widgets.media_result import MediaResult
from alltoken_agent.tui.widgets.note_message import NoteMessage
from alltoken_agent.tui.widgets.user_message import UserMessage

EARLIER = "earlier"
"""The class of the note at the top that says earlier messages are not shown."""

TRIMMED_NOTE = (
    "Earlier messages of this conversation are not shown here; the model still gets as "
    "many of them as fit its context, and /save writes them all."
)


class ChatLog(VerticalScroll):
    """Messages, replies and notes, newest at the bottom; follows new content.

    It keeps the newest :attr:`live_entries` entries (a message, a reply with its tool
    calls, a note, a media job) mounted. Textual lays the whole log out again on every
    change, each streamed chunk included, so a long chat grew slower with each message:
    on the offline simulator a message took ~0.24 s on an empty log, ~0.42 s with 200
    entries, ~0.30 s with 100. The oldest are unmounted once :attr:`trim_step` more
    have come, so that a trim's own layout comes every few messages, and a note at the
    top says so. The conversation itself is untouched: the agent, the store and
    ``/save`` have all of it.
    """

    can_focus = False
    live_entries = 100
    trim_step = 20

    def on_mount(self) -> None:
        """Stay scrolled to the bottom until the user scrolls up."""
        self.anchor()

    async def add(self, widget: Widget) -> Widget:
        """Mount ``widget`` at the end and keep it in view."""
        await self.mount(widget)
        if len(self.children) > self.live_entries + self.trim_step:
            await self._trim()
        self.anchor()
        return widget

    async def _trim(self) -> None:
        """Unmount the oldest entries but :attr:`live_entries`; a note at the top says so."""
        notes = list(self.query_children(f".{EARLIER}"))  # a resumed session's, or ours
        entries = [entry for entry in self.children if entry not in notes]
        # A media job that still runs stays: its worker would end with its widget.
        old = [
            entry
            for entry in entries[: len(entries) - self.live_entries]
            if not (isinstance(entry, MediaJob) and entry.running)
        ]
        if not old:
            return
        await self.remove_children([*notes, *old])
        note = NoteMessage(TRIMMED_NOTE)
        note.add_class(EARLIER)
        await self.mount(note, before=0)

    async def clear_messages(self) -> None:
        """Remove everything."""
        await self.remove_children()

    async def replay(
        self,
        messages: Sequence[dict[str, Any]],
        model: str,
        *,
        media: Sequence[MediaEntry] = (),
        earlier: int = 0,
    ) -> None:
        """Show the newest part of a stored conversation as it was shown live.

        User messages, replies with their reasoning, tool calls and results, and the
        media jobs where they finished (previews included): the whole turns among the
        newest :data:`REPLAY_MESSAGES` messages, after a note of how many are not shown.
        Every widget is built first and mounted at once.

        Args:
            messages: The stored messages read (a long session's newest part).
            model: Shown on the replies.
            media: The session's media jobs, placed by their position in the session.
            earlier: How many stored messages come before ``messages``.
        """
        start = replay_start(messages)
        widgets: list[Widget] = []
        if earlier + start:
            note = NoteMessage(
                f"{earlier + start:,} earlier messages of this session are not shown "
                "here; the model still gets as many of them as fit its context."
            )
            note.add_class(EARLIER)
            widgets.append(note)
        pending = sorted(
            (MediaEntry(e.after - earlier, e.kind, e.prompt, e.paths) for e in media),
            key=lambda entry: entry.after,
        )
        pending = [entry for entry in pending if entry.after >= start]
        turn: list[dict[str, Any]] = []  # the assistant and tool messages of the open turn

        def end_turn() -> None:
            if turn:
                widgets.append(AssistantTurn.stored(model, turn))
                turn.clear()

        for index in range(start, len(messages)):
            while pending and pending[0].after <= index:
                entry = pending.pop(0)
                end_turn()  # a reply after it is a turn of its own, as it was shown live
                widgets.append(MediaResult(entry.kind, entry.prompt, list(entry.paths)))
            message = messages[index]
            role = message.get("role")
            if role == "user":
                end_turn()
                widgets.append(UserMessage(plain_text(message.get("content"))))
            elif role == "assistant" or (role == "tool" and turn):
                turn.append(message)
        end_turn()
        widgets += [MediaResult(e.kind, e.prompt, list(e.paths)) for e in pending]
        if widgets:
            await self.mount_all(widgets)
        self.anchor()


REPLAY_MESSAGES = 100
"""Stored messages a resumed conversation shows at most (the model gets what fits): no
more entries than a live chat keeps (``ChatLog.live_entries``), so the first new message
does not trim what a resume just showed."""


def replay_start(messages: Sequence[dict[str, Any]]) -> int:
    """Where the shown part of a resumed conversation starts: a user message, if any.

    The newest :data:`REPLAY_MESSAGES` messages, from the first user message among
    them, so no turn is shown cut; everything when there are no more than that.
    """
    if len(messages) <= REPLAY_MESSAGES:
        return 0
    first = len(messages) - REPLAY_MESSAGES
    for index in range(first, len(messages)):
        if messages[index].get("role") == "user":
            return index
    return first

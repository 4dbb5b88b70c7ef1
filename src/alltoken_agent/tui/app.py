"""The chat app: streaming replies, slash commands, sessions (built by ``make_app``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from alltoken_agent import Agent, AllTokenAgentError, RetryNotice
from alltoken_agent.agent import ApprovalDecision, ApprovalRequest
from alltoken_agent.store import SessionRecord
from alltoken_agent.tui._session_workers import SessionWorkers
from alltoken_agent.tui.catalog import PickerModel, load_models
from alltoken_agent.tui.commands import Command, chat_text, parse_command
from alltoken_agent.tui.conversation import Conversation
from alltoken_agent.tui.media import MediaKind
from alltoken_agent.tui.model_check import refusal
from alltoken_agent.tui.provider_label import provider_label
from alltoken_agent.tui.screens import ApprovalScreen, HelpScreen, ModelPicker, SessionsScreen
from alltoken_agent.tui.transcript import write_transcript
from alltoken_agent.tui.widgets import (
    AssistantTurn,
    ChatLog,
    ErrorMessage,
    KeyHints,
    MediaJob,
    NoteMessage,
    PromptInput,
    StatusBar,
    UserMessage,
)
from alltoken_agent.tui.widgets.error_message import describe_error
from alltoken_agent.tui.widgets.media_job import MEDIA_GROUP

if TYPE_CHECKING:
    from alltoken_agent.media import Media

QUIT_WINDOW = 2.0
"""Seconds within which a second Ctrl+C quits."""
_JOB_GROUPS = frozenset({"reply", MEDIA_GROUP})
"""Worker groups that Esc and Ctrl+C cancel."""


class ChatApp(SessionWorkers):
    """Chat with an agent in the terminal. Build it with :func:`make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "alltoken-agent"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+c", "interrupt", "Cancel", show=False, priority=True),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+t", "toggle_thinking", "Thinking"),
        Binding("f1", "help", "Help"),
        Binding("f2", "pick_model", "Model"),
        Binding("f3", "sessions", "Sessions"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        conversation: Conversation,
        *,
        workdir: Path,
        close_gateway: bool = False,
        auto_approve: bool = False,
    ) -> None:
        super().__init__()
        self.conversation = conversation
        self.auto_approve = auto_approve
        """Approve tool calls that need approval without asking (``tui --yes``)."""
        conversation.approval_handler = self.approve_tool_call
        self.gateway = conversation.gateway
        self.provider_label = provider_label(self.gateway, conversation.config)
        """The gateway as the status bar names it (its address too, when not the usual)."""
        self.workdir = workdir
        self._close_gateway = close_gateway
        self._last_ctrl_c = -QUIT_WINDOW
        self._models: list[PickerModel] | None = None
        self._outer_on_retry: Callable[[RetryNotice], None] | None = None
        # Kept rather than queried on every event of a stream.
        self.chat = ChatLog(id="chat")
        """The conversation view."""
        self.prompt = PromptInput(id="prompt")
        """The message box."""
        self.status = StatusBar(id="status")
        """The status bar."""

    def compose(self) -> ComposeResult:
        """Conversation, message box, status bar, key hints."""
        yield self.chat
        yield self.prompt
        yield self.status
        yield KeyHints()

    async def on_mount(self) -> None:
        """Route retries into the chat, greet, and open a session named at start."""
        self._outer_on_retry = self.gateway.on_retry
        self.gateway.on_retry = self._on_retry
        self.prompt.focus()
        self._refresh_status()
        where = self.gateway.provider.name if self._offline else self.provider_label
        offline = " (offline simulator: replies are simulated)" if self._offline else ""
        await self.note(
            f"Chatting with {self.agent.model} on {where}{offline}. "
            "Type a message and press Enter; /help lists commands."
        )
        if self.conversation.keeper.name is not None:
            self._open_session()

    async def on_unmount(self) -> None:
        """Give the gateway its retry callback back (or close it, when the app owns it)."""
        self.gateway.on_retry = self._outer_on_retry
        if self._close_gateway:
            await self.gateway.aclose()

    @property
    def agent(self) -> Agent[str]:
        """The agent of the current conversation."""
        return self.conversation.agent

    @property
    def busy(self) -> bool:
        """Whether a reply or a media job is running."""
        return any(w.group in _JOB_GROUPS and not w.is_finished for w in self.workers)

    @property
    def replying(self) -> bool:
        """Whether a reply is running (media jobs may run beside a conversation)."""
        return any(w.group == "reply" and not w.is_finished for w in self.workers)

    async def note(self, text: str, *, kind: str = "info") -> None:
        """Add a note from the app to the conversation."""
        await self.chat.add(NoteMessage(text, kind=kind))

    # -- input ------------------------------------------------------------------

    @on(PromptInput.Submitted)
    async def _submitted(self, event: PromptInput.Submitted) -> None:
        command = parse_command(event.text)
        if command is not None:
            await self.run_command(command)
        elif self.replying:
            self.prompt.load_text(event.text)
            await self.note("A reply is still running: wait for it, or press Esc to cancel it.")
        else:
            text = chat_text(event.text)
            await self.chat.add(UserMessage(text))
            self._stream_reply(text)

    async def run_command(self, command: Command) -> None:
        """Carry out a slash command."""
        name, arg = command.name, command.arg
        if name == "help":
            self.action_help()
        elif name == "model" and arg:
            self._switch_checked(arg)
        elif name == "model":
            self.action_pick_model()
        elif name == "system" and arg:
            self.conversation.set_instructions(arg)
            await self.note("System prompt set for the next turns.")
        elif name == "system":
            current = self.conversation.instructions
            await self.note(f"System prompt: {current}" if current else "No system prompt is set.")
        elif name == "clear":
            await self._clear()
        elif name in ("image", "video") and arg:
            kind: MediaKind = "image" if name == "image" else "video"
            session = self.conversation.session_tag()
            await self.chat.add(MediaJob(self.media, kind, arg, self.workdir, session=session))
            self._refresh_status()
        elif name in ("image", "video"):
            await self.note(f"Usage: /{name} PROMPT", kind="error")
        elif name == "save":
            self._save_transcript()
        elif name == "sessions":
            self.action_sessions()
        else:
            await self.note(f"Unknown command /{name}; /help lists the commands.", kind="error")

    # -- actions ----------------------------------------------------------------

    def action_cancel(self) -> None:
        """Cancel the running reply or media job (the app keeps running)."""
        for worker in self.workers:
            if worker.group in _JOB_GROUPS and not worker.is_finished:
                worker.cancel()

    def action_interrupt(self) -> None:
        """Ctrl+C: cancel what runs, or copy a selection; a second Ctrl+C soon after quits."""
        now = time.monotonic()
        if self.focused is self.prompt and self.prompt.selected_text and not self.busy:
            self.prompt.action_copy()
            return
        if now - self._last_ctrl_c <= QUIT_WINDOW:
            self.exit()
            return
        self._last_ctrl_c = now
        if self.busy:
            self.action_cancel()
        self.notify("Press Ctrl+C again (or Ctrl+Q) to quit.", timeout=QUIT_WINDOW)

    def action_toggle_thinking(self) -> None:
        """Ask for reasoning on the next turns, or stop asking."""
        state = "on" if self.conversation.toggle_thinking() else "off"
        self._refresh_status()
        self.notify(f"Thinking {state} for the next turns.", timeout=2)

    def action_help(self) -> None:
        """Show commands and keys."""
        self.push_screen(HelpScreen())

    def action_pick_model(self) -> None:
        """Open the model picker."""

        def chosen(model: str | None) -> None:
            if model:
                self.switch_model(model)

        self.push_screen(ModelPicker(self._picker_models, self.agent.model), chosen)

    def action_sessions(self) -> None:
        """List stored sessions; choosing one resumes it."""
        keeper = self.conversation.keeper
        if keeper.store is None:
            self.call_later(self.note, "No session store is open, so nothing can be resumed.")
            return

        def chosen(record: SessionRecord | None) -> None:
            if record is not None:
                self._resume(record)

        self.push_screen(SessionsScreen(keeper.list, keeper.name), chosen)

    def switch_model(self, model: str) -> None:
        """Use ``model`` from the next turn on; the conversation stays."""
        self.conversation.switch_model(model)
        self._refresh_status()
        self.call_later(self.note, f"Model: {model} (from the next message on).")

    @work(group="model", exclusive=True, exit_on_error=False)
    async def _switch_checked(self, model: str) -> None:
        """``/model NAME``: switch only to a name the gateway lists (or a policy)."""
        try:
            ids = [m.id for m in await self._picker_models()]
        except Exception as error:  # the list is out of reach: say so, and trust the user
            self.switch_model(model)
            await self.note(
                f"Could not check {model!r} against the model list: {describe_error(error)}",
                kind="warning",
            )
            return
        refused = refusal(model, ids, self.gateway.provider.name)
        if refused is None:
            self.switch_model(model)
        else:
            await self.note(refused, kind="error")

    async def approve_tool_call(self, request: ApprovalRequest) -> ApprovalDecision:
        """Ask with the approval dialog whether a tool call may run.

        The agent calls this from inside the reply worker, which is what
        ``push_screen_wait`` needs. Cancelling the reply closes the dialog.
        """
        if self.auto_approve:
            return ApprovalDecision.allow()
        dialog = ApprovalScreen(request)
        try:
            return await self.push_screen_wait(dialog)
        except asyncio.CancelledError:
            # push_screen_wait shields the screen from the cancel: close it here, unanswered.
            if self.screen is dialog:
                dialog.dismiss()
            raise

    # -- workers ----------------------------------------------------------------

    @work(group="reply", exclusive=True, exit_on_error=False)
    async def _stream_reply(self, text: str) -> None:
        for worker in [w for w in self.workers if w.group == "model" and not w.is_finished]:
            # A /model typed just before is still checking the name: its answer decides
            # which model this message goes to.
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        agent = self.agent
        turn = AssistantTurn(agent.model)
        await self.chat.add(turn)
        try:
            with self.conversation.tagged():
                async for event in agent.stream(text):
                    await turn.show(event)
                    if self.conversation.count(event):
                        self._refresh_status()
        except asyncio.CancelledError:
            await self._end_turn(turn)
            await self.note("Reply cancelled.", kind="warning")
            raise
        except Exception as error:  # any failure becomes a message, never a traceback
            await self._end_turn(turn)
            await self.chat.add(ErrorMessage(error))
        else:
            await turn.finish()
        finally:
            # Whatever the agent committed (whole steps only) is kept, even when cancelled.
            self._save_session(agent)

    async def _end_turn(self, turn: AssistantTurn) -> None:
        await turn.finish()
        if not turn.children:
            await turn.remove()

    @on(MediaJob.Finished)
    def _media_finished(self, event: MediaJob.Finished) -> None:
        if event.paths:
            self.conversation.add_media(event.job.kind, event.job.prompt, event.paths)
        self._sync_totals(timeline=bool(event.paths))

    @work(group="export", exit_on_error=False)
    async def _save_transcript(self) -> None:
        if self.conversation.is_empty:
            await self.note("Nothing to save yet.")
            return
        try:
            stem, text = await self.conversation.transcript(self.workdir)
            path = await asyncio.to_thread(write_transcript, self.workdir, stem, text)
        except (OSError, AllTokenAgentError) as error:
            await self.chat.add(ErrorMessage(error))
            return
        await self.note(f"Saved the conversation to {path}")

    # -- helpers ----------------------------------------------------------------

    async def _clear(self) -> None:
        if self.replying:
            await self.note("Wait for the reply to finish (or Esc) before clearing.")
            return
        await self.conversation.clear()
        await self.chat.clear_messages()
        self._refresh_status()
        await self.note("Conversation cleared; the next message starts a new session.")

    async def _picker_models(self) -> list[PickerModel]:
        if self._models is None:
            self._models = await load_models(self.gateway)
        return self._models

    def _on_retry(self, notice: RetryNotice) -> None:
        text = f"{notice.error.code}: retrying in {notice.delay:.1f} s (retry {notice.attempt})"
        self.chat.mount(NoteMessage(text, kind="warning"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Keep the busy marker and the key hints current."""
        if not self.screen_stack:  # the app is closing: its workers end with nothing to show
            return
        self._refresh_status()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "Cancel reply" only while something runs."""
        if action == "cancel":
            return self.busy
        return True

    @property
    def _offline(self) -> bool:
        return self.gateway.offline_simulator is not None

    @functools.cached_property
    def media(self) -> Media:
        """``/image`` and ``/video`` jobs on the app's gateway, in the default journal."""
        from alltoken_agent.media import Media

        return Media(self.gateway)

    def _refresh_status(self) -> None:
        status = self.status
        status.provider = self.provider_label
        status.model = self.agent.model
        status.thinking = self.agent.thinking
        status.totals = self.conversation.totals.describe()
        status.session = self.conversation.keeper.name or ""
        status.busy = self.busy

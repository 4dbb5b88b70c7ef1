"""The chat app's session work: opening, resuming and saving the conversation's session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App

from alltoken_agent import Agent
from alltoken_agent.store import SessionRecord
from alltoken_agent.tui.conversation import Conversation
from alltoken_agent.tui.widgets import ChatLog, ErrorMessage, PromptInput


class SessionWorkers(App[None]):
    """Workers that load and store the session (group ``store`` or ``resume``)."""

    conversation: Conversation
    chat: ChatLog
    prompt: PromptInput

    if TYPE_CHECKING:  # the chat app's own

        @property
        def agent(self) -> Agent[str]: ...

        @property
        def replying(self) -> bool: ...

        async def note(self, text: str, *, kind: str = "info") -> None: ...

        def _refresh_status(self) -> None: ...

    @work(group="store", exit_on_error=False)
    async def _save_session(self, agent: Agent[Any]) -> None:
        try:
            await self.conversation.save(agent)
            await self.conversation.sync_totals()
        except Exception as error:
            await self.chat.add(ErrorMessage(error))
        self._refresh_status()

    @work(group="store", exit_on_error=False)
    async def _sync_totals(self, *, timeline: bool = False) -> None:
        try:
            if timeline:  # a media job finished: a resumed session shows it again
                await self.conversation.save_timeline()
            await self.conversation.sync_totals()
        except Exception as error:
            await self.chat.add(ErrorMessage(error))
        self._refresh_status()

    @work(group="resume", exclusive=True, exit_on_error=False)
    async def _open_session(self) -> None:
        try:
            messages = await self.conversation.open()
        except Exception as error:
            await self.chat.add(ErrorMessage(error))
            return
        keeper = self.conversation.keeper
        if keeper.opened_new:  # a typo'd name must not pass for an old, empty session
            self._refresh_status()
            await self.note(f"No session named {keeper.name!r} yet: this starts a new one.")
            return
        await self._show_conversation(messages)

    @work(group="resume", exclusive=True, exit_on_error=False)
    async def _resume(self, record: SessionRecord) -> None:
        if self.replying:
            await self.note("Wait for the reply to finish (or Esc) before resuming.")
            return
        try:
            messages = await self.conversation.resume(record)
        except Exception as error:
            await self.chat.add(ErrorMessage(error))
            return
        await self.chat.clear_messages()
        await self._show_conversation(messages)

    async def _show_conversation(self, messages: list[dict[str, Any]]) -> None:
        try:
            await self.conversation.sync_totals()  # what the session used in earlier runs
        except Exception as error:
            await self.chat.add(ErrorMessage(error))
        self._refresh_status()
        keeper = self.conversation.keeper
        await self.chat.replay(
            messages, self.agent.model, media=self.conversation.media, earlier=keeper.skipped
        )
        for message in messages:  # Up recalls what was asked before, too
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                self.prompt.remember(message["content"])
        await self.note(f"Session {keeper.name}: {keeper.skipped + len(messages)} stored messages.")

"""The TUI's state without widgets: the agent, its stored session and the running totals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from alltoken_agent import Agent, AgentEvent, Config, Gateway
from alltoken_agent.agent import ApprovalDecision, ApprovalHandler, ApprovalRequest
from alltoken_agent.store import SessionRecord
from alltoken_agent.tui.sessions import SessionKeeper, conversation, default_session_name
from alltoken_agent.tui.totals import SessionTotals
from alltoken_agent.tui.transcript import to_markdown


class Conversation:
    """One conversation at a time; /clear and /sessions swap it for another.

    Args:
        gateway: Every agent of this conversation talks through it.
        model: The model to start with.
        keeper: Where finished turns are stored.
        config: The config file's settings (passed to each agent).
        tools: The agent's tools.
        instructions: The system prompt to start with.
        require_approval: Tool names whose calls need approval, besides the config's
            ``[approval]`` and tools made with ``@tool(requires_approval=True)``.
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        model: str,
        keeper: SessionKeeper,
        config: Config | None,
        tools: Sequence[Any],
        instructions: str | None,
        require_approval: Sequence[str] = (),
    ) -> None:
        self.gateway = gateway
        self.keeper = keeper
        self.config = config
        self.tools = list(tools)
        self.require_approval = list(require_approval)
        self.approval_handler: ApprovalHandler | None = None
        """Decides the calls that need approval (the app sets it); None denies them."""
        self.totals = SessionTotals()
        self.agent = self._agent(model, instructions, history=None, thinking=False)
        # Saves, clears and resumes run one at a time, in the order they were asked for,
        # so a turn is never stored twice nor into the session that replaced its own.
        self._lock = asyncio.Lock()

    @property
    def model(self) -> str:
        """The model of the next turn."""
        return self.agent.model

    @property
    def instructions(self) -> str | None:
        """The current system prompt."""
        first = self.agent.get_messages()[:1]
        return str(first[0]["content"]) if first and first[0].get("role") == "system" else None

    @property
    def is_empty(self) -> bool:
        """Whether nothing has been said yet."""
        return not conversation(self.agent.get_messages())

    def count(self, event: AgentEvent) -> bool:
        """Add a ``usage`` or ``cost`` event to the totals; True when they changed."""
        return self.totals.add(event)

    def toggle_thinking(self) -> bool:
        """Ask for reasoning on the next turns, or stop; returns the new state."""
        self.agent.thinking = not self.agent.thinking
        return self.agent.thinking

    def switch_model(self, model: str) -> None:
        """Use ``model`` from the next turn on (a new list: a running turn keeps its own)."""
        self.agent.models = [model]

    def set_instructions(self, text: str) -> None:
        """Replace the system prompt for the next turns."""
        self.agent.set_instructions(text)

    async def clear(self) -> None:
        """Forget the conversation; the next save starts a new session."""
        async with self._lock:
            self.agent = self._agent(
                self.model, self.instructions, history=None, thinking=self.agent.thinking
            )
            self.keeper.start_new()
            self.totals.reset()

    async def open(self) -> list[dict[str, Any]]:
        """Load the session named at start (if any) and continue it; returns its messages."""
        async with self._lock:
            messages = await self.keeper.open()
            if self.keeper.record is not None:
                self._continue(self.keeper.record, messages)
            return messages

    async def resume(self, record: SessionRecord) -> list[dict[str, Any]]:
        """Continue the stored session ``record``; returns its messages."""
        async with self._lock:
            messages = await self.keeper.resume(record)
            self._continue(record, messages)
            return messages

    async def save(self, agent: Agent[Any]) -> bool:
        """Store what ``agent`` (the one a turn ran on) has not stored yet."""
        async with self._lock:
            if agent is not self.agent:
                return False  # cleared or swapped before this save was asked for
            return await self.keeper.save(
                agent.get_messages(), model=agent.model, instructions=self.instructions
            )

    def transcript(self) -> tuple[str, str]:
        """A file stem and the Markdown of the conversation, for /save."""
        title = self.keeper.name or default_session_name()
        return title, to_markdown(self.agent.get_messages(), title=title, model=self.model)

    def _continue(self, record: SessionRecord, messages: list[dict[str, Any]]) -> None:
        model = record.model or self.model
        instructions = record.instructions or self.instructions
        self.agent = self._agent(model, instructions, messages, thinking=self.agent.thinking)
        self.totals.reset()

    def _agent(
        self, model: str, instructions: str | None, history: Any, *, thinking: bool
    ) -> Agent[str]:
        return Agent(
            model,
            instructions=instructions,
            tools=self.tools,
            gateway=self.gateway,
            history=history,
            config=self.config,
            thinking=thinking,
            approval_handler=self._approve,
            require_approval=self.require_approval,
        )

    def _approve(
        self, request: ApprovalRequest
    ) -> ApprovalDecision | bool | Awaitable[ApprovalDecision | bool]:
        # Looked up on every call, so agents built before the app set its handler use it.
        if self.approval_handler is None:
            return ApprovalDecision.deny("nobody can approve tool calls here")
        return self.approval_handler(request)

"""The TUI's state without widgets: the agent, its stored session and the running totals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from alltoken_agent import Agent, AgentEvent, Config, Gateway, request_tags
from alltoken_agent.agent import ApprovalDecision, ApprovalHandler, ApprovalRequest
from alltoken_agent.catalog import PriceLookup
from alltoken_agent.ledger import Budget, Ledger
from alltoken_agent.ledger.costs import IMAGE_COUNT_KEYS, VIDEO_SECONDS_KEYS
from alltoken_agent.store import SessionRecord
from alltoken_agent.tui.sessions import SessionKeeper, conversation, default_session_name
from alltoken_agent.tui.timeline import MediaEntry, PromptEntry, from_metadata, to_metadata
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
        ledger: Where every request is recorded (the caller adds its observer); the
            status bar's totals are read back from it, so they cover earlier runs of a
            resumed session and its media jobs too. None counts the agent's events only.
        prices: Model prices, so a request can be estimated before it is sent and a
            reply whose cost the gateway did not report still gets one.
        budgets: Spending limits checked before every request (the config's daily one).
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
        ledger: Ledger | None = None,
        prices: PriceLookup | None = None,
        budgets: Iterable[Budget] = (),
    ) -> None:
        self.gateway = gateway
        self.ledger = ledger
        self.prices = prices
        self.budgets = list(budgets)
        self.keeper = keeper
        self.config = config
        self.tools = list(tools)
        self.require_approval = list(require_approval)
        self.approval_handler: ApprovalHandler | None = None
        """Decides the calls that need approval (the app sets it); None denies them."""
        self.totals = SessionTotals()
        self.media: list[MediaEntry] = []
        """Finished media jobs, for /save and a resumed session (kept in its metadata)."""
        self.prompts: list[PromptEntry] = _first_prompts(instructions)
        """Each system prompt and the message it was set before, for /save."""
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
        return self.agent.instructions

    @property
    def is_empty(self) -> bool:
        """Whether nothing has been said (nor generated) yet."""
        return not self.media and not self._said(self.agent)

    def count(self, event: AgentEvent) -> bool:
        """Add a ``usage`` or ``cost`` event to the totals; True when they changed."""
        return self.totals.add(event)

    def session_tag(self) -> str | None:
        """The session name this conversation's requests are recorded under.

        With a ledger, a new session is named now (not at its first save), so the
        requests of its first turn are counted in it.
        """
        return self.keeper.ledger_name() if self.ledger is not None else self.keeper.name

    def tagged(self) -> request_tags:
        """Tag the requests made inside with this session's name, for the ledger."""
        return request_tags(session=self.session_tag())

    async def sync_totals(self) -> bool:
        """Read the session's tokens, media and cost from the ledger; True when there were any.

        The ledger has every request of the session: earlier runs of a resumed one,
        media jobs, and the cost it estimated where the gateway reported none. Only
        chat requests count as tokens: a media job's usage is its billing units (an
        image's or a video's tokens), shown as images and seconds instead.
        """
        ledger, name = self.ledger, self.keeper.name
        if ledger is None or name is None:
            return False
        report = await asyncio.to_thread(ledger.report, None, "session", session=name)
        total = report.totals
        if total.requests == 0:
            return False
        rows = await asyncio.to_thread(ledger.rows, session=name)
        self.totals.tokens = sum(
            (row.prompt_tokens or 0) + (row.completion_tokens or 0)
            for row in rows
            if row.kind == "chat"
        )
        self.totals.images = sum(
            _count(_first(row.extra, IMAGE_COUNT_KEYS)) for row in rows if row.kind == "image"
        )
        self.totals.video_seconds = sum(
            _seconds(_first(row.extra, VIDEO_SECONDS_KEYS)) for row in rows if row.kind == "video"
        )
        priced = total.requests > total.unknown_cost_requests
        self.totals.cost = total.cost if priced else None
        return True

    def add_media(self, kind: str, prompt: str, paths: Sequence[Path]) -> None:
        """Remember a finished media job, after the messages so far, for /save."""
        after = self._position()
        self.media.append(MediaEntry(after, kind, prompt, tuple(paths)))

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
        after = self._position()
        entry = PromptEntry(after, text or None)
        if self.prompts and self.prompts[-1].after == after:
            self.prompts[-1] = entry  # nothing was said under the one it replaces
        else:
            self.prompts.append(entry)

    async def clear(self) -> None:
        """Forget the conversation; the next save starts a new session."""
        async with self._lock:
            self.agent = self._agent(
                self.model, self.instructions, history=None, thinking=self.agent.thinking
            )
            self.keeper.start_new()
            self.totals.reset()
            self.media.clear()
            self.prompts = _first_prompts(self.instructions)

    async def open(self) -> list[dict[str, Any]]:
        """Load the session named at start (if any) and continue it; returns its messages."""
        async with self._lock:
            messages = await self.keeper.open(self._load)
            if self.keeper.record is not None:
                self._continue(self.keeper.record, messages)
            return messages

    async def resume(self, record: SessionRecord) -> list[dict[str, Any]]:
        """Continue the stored session ``record``; returns its messages."""
        async with self._lock:
            messages = await self.keeper.resume(record, self._load)
            self._continue(record, messages)
            return messages

    async def save(self, agent: Agent[Any]) -> bool:
        """Store what ``agent`` (the one a turn ran on) has not stored yet."""
        async with self._lock:
            if agent is not self.agent:
                return False  # cleared or swapped before this save was asked for
            prompt = 1 if agent.instructions else 0  # the system prompt, first when set
            return await self.keeper.save(
                agent.get_messages(prompt + self.keeper.saved),
                model=agent.model,
                instructions=self.instructions,
                timeline=self.timeline(),
            )

    async def save_timeline(self) -> bool:
        """Store where media jobs and system prompts happened (after a media job)."""
        async with self._lock:
            return await self.keeper.save_timeline(self.timeline())

    def timeline(self) -> dict[str, Any]:
        """The media jobs and system prompts as session metadata."""
        return to_metadata(self.media, self.prompts)

    async def transcript(self, folder: Path | None = None) -> tuple[str, str]:
        """A file stem and the Markdown of the conversation, for /save into ``folder``.

        The whole conversation: a long session's earlier messages, which the agent was
        not given, are read from the store.
        """
        title = self.keeper.name or default_session_name()
        earlier = await self.keeper.earlier()
        text = to_markdown(
            earlier + conversation(self.agent.get_messages()),
            title=title,
            model=self.model,
            media=self.media,
            prompts=self.prompts,
            folder=folder,
        )
        return title, text

    def _position(self) -> int:
        """How many messages the session holds so far, stored or not.

        Where a media job or a system prompt comes in it: positions count from the
        session's start, not from the part the agent was given.
        """
        return self.keeper.skipped + self._said(self.agent)

    @staticmethod
    def _said(agent: Agent[Any]) -> int:
        """How many messages ``agent`` holds besides its system prompt, with no copy of them.

        The prompt is its first message when it has one, and no other is a system one.
        """
        return agent.message_count - (1 if agent.instructions else 0)

    async def _load(self, record: SessionRecord) -> list[dict[str, Any]]:
        # What chat --session gives its agent: all of a session, or the newest part
        # that can fit the model's context when it is long.
        from alltoken_agent.agent.stored_history import load_history

        model = record.model or self.model
        return await load_history(
            self.keeper.require_store(), record, self.gateway, self.config or Config(), model
        )

    def _continue(self, record: SessionRecord, messages: list[dict[str, Any]]) -> None:
        model = record.model or self.model
        instructions = record.instructions or self.instructions
        self.agent = self._agent(model, instructions, messages, thinking=self.agent.thinking)
        self.totals.reset()
        media, prompts = from_metadata(record.metadata)
        self.media = media
        if not prompts:
            prompts = _first_prompts(instructions)
        elif prompts[-1].text != instructions:  # changed elsewhere (the server), after these
            prompts.append(PromptEntry(self.keeper.skipped + len(messages), instructions))
        self.prompts = prompts

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
            prices=self.prices,
            budgets=self.budgets,
        )

    def _approve(
        self, request: ApprovalRequest
    ) -> ApprovalDecision | bool | Awaitable[ApprovalDecision | bool]:
        # Looked up on every call, so agents built before the app set its handler use it.
        if self.approval_handler is None:
            return ApprovalDecision.deny("nobody can approve tool calls here")
        return self.approval_handler(request)


def _first_prompts(instructions: str | None) -> list[PromptEntry]:
    return [PromptEntry(0, instructions)] if instructions else []


def _first(extra: Mapping[str, Any], keys: Sequence[str]) -> object:
    return next((extra[key] for key in keys if extra.get(key) is not None), None)


def _count(value: object) -> int:
    # The ledger's ``extra`` holds what the gateway said: only a sane count is added up.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if 0 < value < float("inf") else 0.0

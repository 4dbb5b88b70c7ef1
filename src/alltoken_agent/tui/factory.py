"""``make_app``: the chat app built from core objects, as the CLI and the tests build it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alltoken_agent import Config, Gateway
from alltoken_agent.agent import DEFAULT_INSTRUCTIONS, DEFAULT_MODEL, resolve_tool_names
from alltoken_agent.catalog import PriceLookup
from alltoken_agent.ledger import Budgets, Ledger
from alltoken_agent.store import Store
from alltoken_agent.tui.app import ChatApp
from alltoken_agent.tui.conversation import Conversation
from alltoken_agent.tui.sessions import SessionKeeper, default_session_name


def make_app(
    gateway: Gateway,
    *,
    model: str | None = None,
    store: Store | None = None,
    config: Config | None = None,
    session: str | None = None,
    workdir: Path | None = None,
    tools: Sequence[Any] | None = None,
    instructions: str | None = DEFAULT_INSTRUCTIONS,
    session_namer: Callable[[], str] = default_session_name,
    close_gateway: bool = False,
    require_approval: Sequence[str] = (),
    auto_approve: bool = False,
    ledger: Ledger | None = None,
    prices: PriceLookup | None = None,
) -> ChatApp:
    """Build the chat app from core objects; the caller runs it and closes what it passed.

    Args:
        gateway: The gateway to chat through (online, or ``Gateway.offline()``).
        model: The model to start with; defaults to the gateway's.
        store: Where finished turns are kept and ``/sessions`` looks; None keeps nothing.
        config: The config file's settings (model-family overrides).
        session: Resume (or create) the stored session of this name.
        workdir: Where ``/save`` and generated media write; the current folder by default.
        tools: The agent's tools; by default the time and a calculator.
        instructions: The system prompt to start with.
        session_namer: Names a new session (by date and time by default).
        close_gateway: Close ``gateway`` when the app exits, for callers that hand it
            over (``make_app(Gateway.offline(), close_gateway=True).run()``).
        require_approval: Tool names whose calls need approval, besides the config's
            ``[approval]`` and tools made with ``@tool(requires_approval=True)``.
        auto_approve: Approve every such call without asking (``tui --yes``); by
            default a dialog asks.
        ledger: Records every request (pass one whose observer is on ``gateway``):
            the status bar reads a session's totals from it, and the config's
            ``[budget]`` limits are checked against it. None counts this run only.
        prices: Model prices, to estimate requests for budgets and for gateways that
            report no cost (``await Catalog(gateway).prices(config.prices)``).
    """
    budgets = (
        Budgets.from_config(config.budget, ledger)
        if ledger is not None and config is not None
        else Budgets()
    )
    conversation = Conversation(
        gateway,
        model=model or gateway.model or DEFAULT_MODEL,
        keeper=SessionKeeper(store, session, namer=session_namer),
        config=config,
        tools=resolve_tool_names("default") if tools is None else tools,
        instructions=instructions,
        require_approval=require_approval,
        ledger=ledger,
        prices=prices,
        budgets=budgets,
    )
    return ChatApp(
        conversation,
        workdir=workdir or Path.cwd(),
        close_gateway=close_gateway,
        auto_approve=auto_approve,
    )

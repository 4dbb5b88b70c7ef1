"""What one turn of the agent needs: its settings, and when a fallback may take over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alltoken_agent.agent.approval import ApprovalHandler
from alltoken_agent.agent.context import ContextPolicy, TokenCounts
from alltoken_agent.agent.events import AgentEvent
from alltoken_agent.agent.families import FamilyTable
from alltoken_agent.agent.output import OutputSpec
from alltoken_agent.agent.tools import Tool
from alltoken_agent.errors import (
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    RateLimitError,
    UpstreamError,
)
from alltoken_agent.gateway import Gateway


def can_fall_back(error: GatewayError) -> bool:
    """Whether the next model of a chain may take over after ``error`` (retries spent).

    Never on 400/401/402/403: another model would fail the same way, or cost money
    the user has not got. A model the gateway cannot route (404) is worth skipping.
    """
    if isinstance(error, (UpstreamError, GatewayTimeoutError, GatewayConnectionError)):
        return True
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, NotFoundError) and error.code == "upstream_model_not_found"


async def _no_hooks(event: AgentEvent) -> None:
    return None


async def _nothing_first(settings: TurnSettings, content: Any) -> list[AgentEvent]:
    return []


@dataclass
class TurnSettings:
    """Everything one turn needs from the agent, fixed for the turn."""

    gateway: Gateway
    models: Sequence[str]
    tools: dict[str, Tool]
    max_steps: int
    stream: bool
    families: FamilyTable
    fields_for: Callable[[str], dict[str, Any]]
    """Request fields for a model (search flag, thinking, sampling...)."""
    tools_for: Callable[[str], list[Tool]]
    """Tools offered to a model (adds web_search where search is not native)."""
    before_request: Callable[[str, list[dict[str, Any]], dict[str, Any]], list[AgentEvent]] = (
        lambda model, messages, fields: []
    )
    """Called before each model request; may raise (a budget) or return events (warnings)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Request tags for the ledger (the agent's id); set around every gateway call."""
    approval: ApprovalHandler | None = None
    needs_approval: Callable[[Tool], bool] = lambda tool: tool.requires_approval
    context_limits: dict[str, int] = field(default_factory=dict)
    """Context length per model, where known; requests are fitted to it."""
    context_policy: ContextPolicy = "trim"
    token_counts: TokenCounts = field(default_factory=TokenCounts)
    """Each history message's token count, kept between requests (and turns, when the
    agent hands the same one to every turn)."""
    context_lookup: Callable[[str], Awaitable[int | None]] | None = None
    """Finds a model's context length (the catalog) when a request is long enough to
    need it; short requests never pay for the lookup."""
    output: OutputSpec[Any] | None = None
    deltas: bool = True
    """Build per-chunk delta events (skipped when nobody listens, to save CPU)."""
    emit: Callable[[AgentEvent], Awaitable[None]] = _no_hooks
    """Hands each event to the hooks before it is yielded."""
    hooked: Callable[[str], object] = lambda name: True
    """Whether ``emit`` has a handler for events of this name; per-chunk events skip
    the call when it has none."""
    prelude: Callable[[TurnSettings, Any], Awaitable[list[AgentEvent]]] = _nothing_first
    """Runs before the first request (auto: models, context lengths); returns events."""
    wants: Callable[[str], bool] = lambda name: True
    """Whether anyone receives events of this name; ``run()`` with no hook for an event
    skips building and passing it along (each event crosses several generators)."""

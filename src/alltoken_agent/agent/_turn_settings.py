"""What one turn takes from its agent (``TurnSettings``), fixed when the turn starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from alltoken_agent.agent._model_requests import BudgetGuard
from alltoken_agent.agent.approval import ApprovalHandler
from alltoken_agent.agent.context import ContextPolicy, TokenCounts
from alltoken_agent.agent.events import STREAM_EVENT_NAMES
from alltoken_agent.agent.families import FamilyTable
from alltoken_agent.agent.hooks import Hooks
from alltoken_agent.agent.output import OutputSpec
from alltoken_agent.agent.tools import Tool
from alltoken_agent.gateway import Gateway, request_tags

if TYPE_CHECKING:
    from alltoken_agent.agent.planning import Prelude

Readers = Literal["all", "hooks", "unstreamed"]
"""Who gets a turn's events besides the hooks: a ``stream()`` reader gets all of them;
``run()`` and ``send()`` pass on only what a hook handles (``hooks``), and the
unstreamed blocking calls not even that of the stream events (``unstreamed``)."""


def _everyone(name: str) -> bool:
    return True


@dataclass(init=False, eq=False, repr=False)  # nothing generated (never compared or printed)
class TurnSettings:
    """What one turn takes from its agent: values and objects, fixed for the turn.

    The prelude fills in what needs a lookup first (``models`` after ``auto:``
    choices, ``tools_for`` with MCP tools, the context fields).
    """

    gateway: Gateway
    models: Sequence[str]
    tools: dict[str, Tool]
    """The agent's own tools, by name."""
    max_steps: int
    stream: bool
    families: FamilyTable
    fields_for: Callable[[str], dict[str, Any]]
    """Request fields for a model (search flag, thinking, sampling...)."""
    tools_for: Callable[[str], list[Tool]]
    """Tools offered to a model (adds web_search where search is not native)."""
    hooks: Hooks = field(default_factory=Hooks)
    """Each event goes to its handlers here before it is yielded."""
    readers: Readers = "hooks"
    deltas: bool = True
    """Build per-chunk delta events (skipped when nobody reads them, to save CPU)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Request tags for the ledger (the agent's id); set around every gateway call."""
    budget: BudgetGuard | None = None
    """Checked before each request (None: no budget, nothing to check)."""
    approval: ApprovalHandler | None = None
    approval_names: AbstractSet[str] = frozenset()
    """Tools that need approval besides those made with ``requires_approval``."""
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
    prelude: Prelude | None = None
    """Runs before the first request (auto: models, context lengths); returns events."""

    wants: Callable[[str], object] = field(init=False, repr=False, compare=False)
    """Whether anyone gets events of this name (else they are not even built): truthy
    or falsy, asked a few times per request, so chosen once per turn for its readers."""

    def __init__(
        self,
        gateway: Gateway,
        models: Sequence[str],
        tools: dict[str, Tool],
        max_steps: int,
        stream: bool,
        families: FamilyTable,
        fields_for: Callable[[str], dict[str, Any]],
        tools_for: Callable[[str], list[Tool]],
        hooks: Hooks | None = None,
        readers: Readers = "hooks",
        deltas: bool = True,
        tags: dict[str, str] | None = None,
        budget: BudgetGuard | None = None,
        approval: ApprovalHandler | None = None,
        approval_names: AbstractSet[str] = frozenset(),
        context_limits: dict[str, int] | None = None,
        context_policy: ContextPolicy = "trim",
        token_counts: TokenCounts | None = None,
        context_lookup: Callable[[str], Awaitable[int | None]] | None = None,
        output: OutputSpec[Any] | None = None,
        prelude: Prelude | None = None,
    ) -> None:
        self.gateway = gateway
        self.models = models
        self.tools = tools
        self.max_steps = max_steps
        self.stream = stream
        self.families = families
        self.fields_for = fields_for
        self.tools_for = tools_for
        self.hooks = Hooks() if hooks is None else hooks
        self.readers = readers
        self.deltas = deltas
        self.tags = {} if tags is None else tags
        self.budget = budget
        self.approval = approval
        self.approval_names = approval_names
        self.context_limits = {} if context_limits is None else context_limits
        self.context_policy = context_policy
        self.token_counts = TokenCounts() if token_counts is None else token_counts
        self.context_lookup = context_lookup
        self.output = output
        self.prelude = prelude
        self.__post_init__()

    def _unstreamed(self, name: str) -> object:
        return name not in STREAM_EVENT_NAMES and self._listening(name)

    def __post_init__(self) -> None:
        # The handlers' lookup, taken once (a C call, not Hooks.wants each time); handlers
        # added or removed during the turn still count, as the dict is read each time.
        self._listening = self.hooks.listening
        if self.readers == "all":
            self.wants = _everyone
        elif self.readers == "unstreamed":
            self.wants = self._unstreamed
        else:
            self.wants = self._listening
        # One manager for the turn, entered around each request and tool step in turn
        # (never nested: the turn runs one at a time), not one built for each.
        self.tagged = request_tags(**self.tags)

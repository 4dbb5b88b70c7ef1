"""Choices made before a turn's requests: MCP tools, ``auto:`` models, context lengths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.agent.events import AgentEvent, ModelChosenEvent

if TYPE_CHECKING:  # annotations only: the MCP client loads when an agent has servers
    from alltoken_agent.agent._turn_settings import TurnSettings
    from alltoken_agent.agent.families import RequestOptions
    from alltoken_agent.agent.mcp_client import MCPTools
    from alltoken_agent.catalog import Requirements
    from alltoken_agent.gateway import Gateway, Provider


def has_image(content: Any) -> bool:
    """Whether message content carries an image part."""
    return isinstance(content, list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in content
    )


async def resolve_auto_models(
    gateway: Gateway, models: Sequence[str], needs: Requirements
) -> tuple[list[str], list[AgentEvent]]:
    """Replace ``auto:cheap|fast|best`` entries of a chain with catalog choices."""
    from alltoken_agent.catalog import is_auto

    if not any(is_auto(m) for m in models):
        return list(models), []
    from alltoken_agent.catalog import Catalog  # its service and disk cache: when needed

    catalog = Catalog(gateway)
    events: list[AgentEvent] = []
    resolved = []
    for spec in models:
        if is_auto(spec):
            choice = await catalog.choose(spec, needs)
            events.append(
                ModelChosenEvent(model=choice.model, policy=choice.policy, reason=choice.reason)
            )
            spec = choice.model
        resolved.append(spec)
    return resolved, events


class ContextLengths:
    """Context windows: the agent's setting, else the config's, else the catalog's."""

    def __init__(
        self, gateway: Gateway, configured: Mapping[str, int], override: int | None
    ) -> None:
        self._gateway = gateway
        self._configured = configured
        self._override = override
        self._catalog: dict[str, int] | None = None
        self._known: tuple[tuple[str, ...], dict[str, int]] | None = None
        self._catalog_of: tuple[Provider, bool] | None = None

    def serves(self, gateway: Gateway, override: int | None) -> bool:
        """Whether these lengths are the ones for ``gateway`` and ``override``."""
        return gateway is self._gateway and override == self._override

    def known(self, models: Sequence[str]) -> dict[str, int]:
        """The lengths known without asking anyone (a new dict each time)."""
        chain = tuple(models)
        last = self._known
        if last is None or last[0] != chain:  # a turn's chain is mostly the last one's
            limits = {m: self._override or self._configured.get(m) for m in chain}
            last = (chain, {m: length for m, length in limits.items() if length})
            self._known = last
        return dict(last[1])

    def has_catalog(self) -> bool:
        """Whether ``from_catalog`` can find anything (the provider has a public catalog)."""
        # Asked every turn: the answer is kept while the (frozen) provider is the same.
        provider = self._gateway.provider
        last = self._catalog_of
        if last is None or last[0] is not provider:
            last = self._catalog_of = (provider, provider.public_base_url is not None)
        return last[1]

    async def from_catalog(self, model: str) -> int | None:
        """The catalog's length for ``model``; the catalog is fetched once."""
        if self._catalog is None:
            from alltoken_agent.catalog.lengths import context_lengths

            self._catalog = {}  # first: a turn asking meanwhile does not fetch it again
            self._catalog = await context_lengths(self._gateway)
        return self._catalog.get(model)


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Prelude(FrozenValue):
    """What runs before a turn's first request; fills in the turn's settings."""

    gateway: Gateway
    options: RequestOptions
    mcp: MCPTools | None
    lengths: ContextLengths

    def __init__(
        self,
        gateway: Gateway,
        options: RequestOptions,
        mcp: MCPTools | None,
        lengths: ContextLengths,
    ) -> None:
        # Written out, as RequestOptions' is: a new agent makes one for its first turn.
        self.__dict__.update(gateway=gateway, options=options, mcp=mcp, lengths=lengths)

    def now(self, settings: TurnSettings) -> list[AgentEvent] | None:
        """``__call__`` for a turn that needs no wait (no MCP servers, no ``auto:`` model).

        None: the turn needs one; await the prelude instead. Most turns need none, and
        this makes no coroutine for them.
        """
        if self.mcp is not None:
            return None
        models = list(settings.models)
        if any("auto:" in model.lower() for model in models):
            return None
        return self._settle(settings, models, [])

    async def __call__(self, settings: TurnSettings, content: Any) -> list[AgentEvent]:
        """MCP tools, ``auto:`` models and context lengths; returns the events to emit."""
        options = self.options
        if self.mcp is not None:
            reserved = [t.name for t in options.tools]
            if options.enable_search:
                reserved.append("web_search")  # the built-in tool's name
            mcp_tools = await self.mcp.tools(reserved=reserved)
            own = settings.tools_for
            settings.tools_for = lambda model: [*own(model), *mcp_tools]
        models: list[str] = list(settings.models)
        events: list[AgentEvent] = []
        # The model choice (its module) only for a chain that may hold an `auto:` model;
        # "auto:" in the name is looser than `is_auto`, which decides.
        if any("auto:" in model.lower() for model in models):
            from alltoken_agent.catalog import Requirements

            needs = Requirements(
                # web_search falls back to a tool, so searching needs tool calling.
                tools=bool(options.tools) or self.mcp is not None or options.enable_search,
                vision=has_image(content),
                # Native search where the catalog lists it; the web_search tool stands in
                # only when no such model exists (then the choice fails with that reason).
                search=options.enable_search,
                structured_output=settings.output is not None,
                reasoning=options.thinking,
            )
            models, events = await resolve_auto_models(self.gateway, models, needs)
        return self._settle(settings, models, events)

    def _settle(
        self, settings: TurnSettings, models: list[str], events: list[AgentEvent]
    ) -> list[AgentEvent]:
        """Set the turn's models and context lengths; ``events`` and the search notice."""
        options = self.options
        settings.models = models
        settings.context_limits = self.lengths.known(models)
        # Without a catalog to ask, a long request has no length to look up: its
        # messages are not counted for the question either.
        lengths = self.lengths
        settings.context_lookup = lengths.from_catalog if lengths.has_catalog() else None
        notice = options.search_notice(models[0])
        if notice is not None:
            events.append(notice)
        return events

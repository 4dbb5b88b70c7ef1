"""Choices made before a turn's requests: ``auto:`` models and context lengths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alltoken_agent.agent.events import AgentEvent, ModelChosenEvent
from alltoken_agent.catalog import Catalog, Requirements, is_auto
from alltoken_agent.errors import GatewayError
from alltoken_agent.gateway import Gateway


def has_image(content: Any) -> bool:
    """Whether message content carries an image part."""
    return isinstance(content, list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in content
    )


async def resolve_auto_models(
    gateway: Gateway, models: Sequence[str], needs: Requirements
) -> tuple[list[str], list[AgentEvent]]:
    """Replace ``auto:cheap|fast|best`` entries of a chain with catalog choices."""
    if not any(is_auto(m) for m in models):
        return list(models), []
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

    def known(self, models: Sequence[str]) -> dict[str, int]:
        """The lengths known without asking anyone."""
        limits = {m: self._override or self._configured.get(m) for m in models}
        return {m: length for m, length in limits.items() if length}

    async def from_catalog(self, model: str) -> int | None:
        """The catalog's length for ``model``; the catalog is fetched once."""
        if self._catalog is None:
            self._catalog = {}
            if self._gateway.models.public_base_url is not None:
                try:
                    entries = await Catalog(self._gateway).entries()
                except GatewayError:
                    entries = []  # unknown: send as is, and the gateway will say
                self._catalog = {e.id: e.context_length for e in entries if e.context_length}
        return self._catalog.get(model)

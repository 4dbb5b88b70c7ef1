"""auto: with enable_search picks a model whose catalog entry lists web_search."""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import Agent
from alltoken_agent.catalog import Catalog
from tests.gateway.helpers import gateway_for

pytestmark = pytest.mark.slow


async def test_auto_with_search_needs_native_web_search(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        agent = Agent("auto:fast", tools=[], gateway=gateway, enable_search=True)
        chosen: list[str] = []
        agent.on("model:chosen", lambda model, policy, reason: chosen.append(model))
        await agent.run("news?")
        entries = {e.id: e for e in await Catalog(gateway, use_cache=False).entries()}
    assert "web_search" in entries[chosen[0]].capabilities

"""Starting the in-process simulator that ``Gateway.offline()`` talks to."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from alltoken_agent.gateway.providers import Provider

if TYPE_CHECKING:
    from alltoken_agent.simulator import SimulatorServer

OFFLINE_KEY = "offline-simulator"
"""The placeholder key the in-process simulator is called with; not a secret."""

# The simulator speaks two dialects; a plain OpenAI-compatible host behaves
# like TokenHub on the wire (no cost comment, no gateway extensions).
_SIMULATOR_DIALECT = {"alltoken": "alltoken", "tokenhub": "tokenhub", "openai": "tokenhub"}

# The simulator's catalog knows this one, for providers with no default model.
_FALLBACK_MODEL = "gpt-5.4-mini"


def start_simulator(
    base: Provider, *, chunk_delay: float = 0.0
) -> tuple[SimulatorServer, Provider]:
    """Start a simulator in ``base``'s dialect; return it and a profile pointing at it.

    The profile keeps the provider's name, headers and default model but needs no
    key. The caller owns the server and must ``stop()`` it.
    """
    # The one place the core reaches the simulator, and only when asked to.
    from alltoken_agent.simulator import SimulatorServer

    server = SimulatorServer(_SIMULATOR_DIALECT[base.dialect], chunk_delay=chunk_delay)
    server.start()
    profile = replace(
        base,
        base_url=server.base_url,
        api_key_env=None,
        requires_key=False,
        default_model=base.default_model or _FALLBACK_MODEL,
    )
    return server, profile

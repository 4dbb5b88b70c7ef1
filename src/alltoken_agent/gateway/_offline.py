"""The simulator as the client sees it: starting it in-process, and knowing its replies.

``Gateway.offline()`` starts one in-process. A standalone ``alltoken-agent simulator``
reached through ``--base-url`` (or a provider profile) is known by the header it puts
on every reply; either way the client books the requests as simulated.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from alltoken_agent.gateway.providers import Provider

if TYPE_CHECKING:
    from alltoken_agent.simulator import SimulatorServer

OFFLINE_KEY = "offline-simulator"
"""The placeholder key the in-process simulator is called with; not a secret."""

SIMULATOR_HEADER = "x-simulator"
SIMULATOR_NAME = "alltoken-agent-simulator"
"""The header and value the simulator labels every reply with (its own invention,
mirrored here because the core never imports the simulator)."""

_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


class _URL(Protocol):
    @property
    def host(self) -> str: ...


class _Request(Protocol):
    @property
    def url(self) -> _URL: ...


class Reply(Protocol):
    """What ``from_simulator`` reads of a response: ours, or one of the SDK's own httpx."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def request(self) -> _Request: ...


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


def from_simulator(response: Reply) -> bool:
    """Whether ``response`` is the simulator's: labelled so, by a loopback host.

    The simulator only ever binds loopback, so a remote host sending the label is
    not believed: a gateway must not be able to move real spend out of the real book.
    """
    if response.headers.get(SIMULATOR_HEADER) != SIMULATOR_NAME:
        return False
    return is_loopback(response.request.url.host)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 without brackets) is this machine."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

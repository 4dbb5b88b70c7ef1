"""The gateway the status bar names: the provider, and its address when not the usual one."""

from __future__ import annotations

from urllib.parse import urlsplit

from alltoken_agent import Config, ConfigError, Gateway
from alltoken_agent.gateway import get_provider


def provider_label(gateway: Gateway, config: Config | None = None) -> str:
    """``alltoken``, ``alltoken @ 127.0.0.1:8765`` or ``alltoken (offline)``.

    The profile's name alone when the gateway talks to that profile's own base URL;
    with ``--base-url`` (or a base URL from the environment) the name would claim a
    gateway the requests never reach, so the host they do reach is named too.
    """
    name = gateway.provider.name
    if gateway.offline_simulator is not None:
        return f"{name} (offline)"
    try:
        usual = get_provider(name, config).base_url
    except ConfigError:  # a profile built in code: its own base URL is the usual one
        usual = gateway.base_url
    if _same(usual, gateway.base_url):
        return name
    return f"{name} @ {_address(gateway.base_url)}"


def _same(first: str | None, second: str) -> bool:
    return first is not None and first.rstrip("/") == second.rstrip("/")


def _address(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]  # never show credentials put in a URL
    path = parts.path.rstrip("/")
    return f"{host}{path}" if path not in ("", "/v1") else host

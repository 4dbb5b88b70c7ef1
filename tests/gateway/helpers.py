"""Building gateways that point at a running simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from alltoken_agent import Gateway, Provider
from alltoken_agent.gateway import RetryPolicy

TEST_KEY = "sk-test-abcdefghijklmnop-0123456789"
"""A key-shaped value; the redaction tests scan every output for it."""

FAST_RETRY = RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0)


def gateway_for(server: Any, *, dialect: str = "alltoken", **kwargs: Any) -> Gateway:
    """A Gateway on the simulator's base URL, with a test key and instant retries."""
    provider = Provider(
        name=f"sim-{dialect}",
        base_url=server.base_url,
        api_key_env=None,
        dialect=dialect,  # type: ignore[arg-type]
        default_model="minimax-m2.7",
    )
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("api_key", TEST_KEY)
    return Gateway(provider, **kwargs)


def closes_gateways(opened: list[Gateway]) -> Any:
    """An autouse fixture that closes, after each test, the gateways put in ``opened``.

    A module keeps ``opened`` for the gateways its helpers make and binds the fixture
    to a name (``close_gateways = closes_gateways(_open)``) so pytest finds it.
    """

    @pytest.fixture(autouse=True)
    async def close_gateways() -> AsyncIterator[None]:
        yield
        while opened:
            await opened.pop().aclose()

    return close_gateways


def user(text: str) -> list[dict[str, Any]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]


def asyncio_transport_gateway(server: Any, **http: Any) -> Gateway:
    """A gateway on ``server`` whose requests go through the CLI's ``AsyncioTransport``."""
    from alltoken_agent.config import Config, HttpSettings
    from alltoken_agent.gateway._asyncio_transport import AsyncioTransport

    transport = AsyncioTransport(**http)
    return gateway_for(server, config=Config(http=HttpSettings(**http)), transport=transport)

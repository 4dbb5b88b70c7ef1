from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from alltoken_agent.simulator import SimulatorServer

API_KEY = "sk-sim-test-0123456789"


# The session-scoped servers and the per-test reset come from tests/conftest.py:
# `sim` (AllToken dialect) and `th_sim` (TokenHub dialect), one server each per session.


def _client(server: SimulatorServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=5.0,
        trust_env=False,
    )


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[httpx.Client]:
    """httpx client with a key, on the AllToken simulator's /v1."""
    with _client(sim) as c:
        yield c


@pytest.fixture
def th_client(th_sim: SimulatorServer) -> Iterator[httpx.Client]:
    """httpx client with a key, on the TokenHub simulator's /v1."""
    with _client(th_sim) as c:
        yield c


@pytest.fixture
def root(sim: SimulatorServer) -> Iterator[httpx.Client]:
    """httpx client without a key, on the AllToken simulator's root URL."""
    with httpx.Client(base_url=sim.url, timeout=5.0, trust_env=False) as c:
        yield c

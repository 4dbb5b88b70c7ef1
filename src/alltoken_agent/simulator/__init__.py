"""Offline gateway simulator: AllToken and TokenHub over real loopback HTTP.

A deterministic Starlette app speaking both gateway dialects of
`shared/docs/wire-format.md`, with a scripted model and fault injection, served by uvicorn.
It imports nothing from the rest of `alltoken_agent`, so it checks the client instead of
echoing it.
"""

from __future__ import annotations

from alltoken_agent.simulator._constants import DIALECTS, FAULT_HEADER
from alltoken_agent.simulator.app import create_app
from alltoken_agent.simulator.control import SimulatorState
from alltoken_agent.simulator.server import SimulatorServer, run

__all__ = [
    "DIALECTS",
    "FAULT_HEADER",
    "SimulatorServer",
    "SimulatorState",
    "create_app",
    "run",
]

"""Constants shared by the simulator modules (and re-exported where public)."""

from __future__ import annotations

from typing import Final, Literal

Dialect = Literal["alltoken", "tokenhub"]
"""The two gateway wire dialects the simulator speaks (docs/wire-format.md §1 and §2)."""

DIALECTS: Final[tuple[Dialect, ...]] = ("alltoken", "tokenhub")
"""Every dialect name accepted by `create_app`, `SimulatorServer` and `run`."""

FAULT_HEADER: Final = "X-Sim-Fault"
"""Request header carrying a fault spec for that one request (see `faults.py`)."""

SIM_EPOCH: Final = 1_778_544_000
"""Fixed clock origin (2026-05-12T00:00:00Z) so `created` fields are deterministic."""

RAW_SEND_SCOPE_KEY: Final = "alltoken_sim.raw_send"
"""ASGI scope key under which the app stashes the server's own `send` callable.

Starlette wraps `send` in its middleware; the connection-drop faults need the
server's original callable to reach the socket (see `faults.drop_connection`).
"""

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
"""Hosts the simulator agrees to bind: it must never listen beyond loopback."""

JOB_FAULT_HEADER: Final = "X-Sim-Job-Fault"
"""Request header on a media create choosing how the job ends (see `job_faults.py`)."""

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
"""Request header deduping media creates for 60 s (docs/wire-format.md §1.1, §3 row 7)."""

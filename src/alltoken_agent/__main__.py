"""`python -m alltoken_agent`."""

from __future__ import annotations

from alltoken_agent.cli import main

main()

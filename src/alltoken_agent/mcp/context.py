"""What every tool of one server shares: the core objects the factory was given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alltoken_agent import Config, Gateway
from alltoken_agent.ledger import Ledger
from alltoken_agent.mcp.sessions import SessionBook
from alltoken_agent.store import Store


@dataclass
class ToolDeps:
    """The gateway, store and settings the tools of one server use."""

    gateway: Gateway
    store: Store
    ledger: Ledger
    config: Config = field(default_factory=Config)
    media_dir: Path | None = None
    """Where generated images and videos are saved; None means the current directory."""
    sessions: SessionBook = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionBook(self.store)

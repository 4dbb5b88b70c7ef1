"""What every tool of one server shares: the core objects the factory was given."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alltoken_agent import Config, Gateway, app_dirs
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
    """Where generated images and videos are saved; None is ``media/mcp`` in the data
    folder (see :attr:`media_folder`)."""
    sessions: SessionBook = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionBook(self.store)

    @property
    def media_folder(self) -> Path:
        """The folder media files go to: ``media_dir``, else the data folder's ``media/mcp``.

        The data folder, not the current one: an MCP client starts the server wherever
        it likes. ``ALLTOKEN_AGENT_HOME`` moves the data folder.
        """
        if self.media_dir is not None:
            return self.media_dir.expanduser().absolute()
        return (app_dirs().data / "media" / "mcp").absolute()

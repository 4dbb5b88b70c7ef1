"""Building the TUI the way the CLI does (``make_app``), on the simulator over loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.store import Store
from alltoken_agent.tui import ChatApp, make_app
from tests.gateway.helpers import gateway_for

SESSION = "test session"
"""The name new sessions get in these tests (instead of the date and time)."""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store per test."""
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as opened:
        yield opened


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where /save and media write."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def build(sim: Any, store: Store, workdir: Path) -> Callable[..., ChatApp]:
    """``build(**make_app_kwargs)``: the app on the reset simulator; it closes its gateway."""

    def build(**kwargs: Any) -> ChatApp:
        kwargs.setdefault("store", store)
        kwargs.setdefault("workdir", workdir)
        kwargs.setdefault("session_namer", lambda: SESSION)
        return make_app(gateway_for(sim), close_gateway=True, **kwargs)

    return build

"""Snapshots of the main screens at a pinned size, on the simulator (deterministic replies).

Regenerate after a deliberate change with ``pytest tests/tui --snapshot-update`` and
look at the SVGs before committing them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from alltoken_agent.store import SessionRecord
from alltoken_agent.tui import ChatApp
from alltoken_agent.tui.screens import SessionsScreen
from alltoken_agent.tui.sessions import StoredSession
from tests.tui.helpers import send, settle, wait_for

pytestmark = pytest.mark.slow

SIZE = (100, 30)


async def _steady(pilot: Pilot[None]) -> None:
    """No blinking cursor, so every screenshot is the same."""
    app = pilot.app
    assert isinstance(app, ChatApp)
    app.prompt.cursor_blink = False
    await settle(pilot)


def test_main_screen_empty(build: Any, snap_compare: Any) -> None:
    assert snap_compare(build(), terminal_size=SIZE, run_before=_steady)


def test_main_screen_after_one_reply(build: Any, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _steady(pilot)
        await send(pilot, "Hello! Can you *format* this?")

    assert snap_compare(build(), terminal_size=SIZE, run_before=run_before)


def test_model_picker(build: Any, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _steady(pilot)
        await pilot.press("f2")
        options = pilot.app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count > 0)
        await pilot.press(*"deepseek")
        await settle(pilot)

    assert snap_compare(build(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(build: Any, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await _steady(pilot)
        await pilot.press("f1")

    assert snap_compare(build(), terminal_size=SIZE, run_before=run_before)


def _stored(name: str | None, model: str, first: str, messages: int) -> StoredSession:
    when = datetime(2026, 5, 1, 14, 3, tzinfo=timezone.utc)
    record = SessionRecord(
        id=f"ses_{messages:016x}",
        name=name,
        owner=None,
        model=model,
        instructions=None,
        metadata={},
        created_at=when,
        updated_at=when,
        message_count=messages,
    )
    return StoredSession(record, first)


def test_sessions_picker_searched(build: Any, snap_compare: Any) -> None:
    sessions = [
        _stored("work notes", "deepseek-v4-flash", "Plan the sprint", 6),
        _stored(None, "minimax-m2.7", "Write a poem about foxes in the snow", 2),
        _stored("yesterday", "glm-5", "My name is Ada.", 4),
    ]

    async def load() -> list[StoredSession]:
        return sessions

    async def run_before(pilot: Pilot[None]) -> None:
        await _steady(pilot)
        await pilot.app.push_screen(SessionsScreen(load, "yesterday"))
        await wait_for(pilot, lambda: pilot.app.screen.query_one(OptionList).option_count == 3)
        await pilot.press(*"o")  # in every title but "yesterday"'s
        await settle(pilot)

    assert snap_compare(build(), terminal_size=SIZE, run_before=run_before)

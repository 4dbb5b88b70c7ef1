"""Snapshots of the main screens at a pinned size, on the simulator (deterministic replies).

Regenerate after a deliberate change with ``pytest tests/tui --snapshot-update`` and
look at the SVGs before committing them.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from alltoken_agent.tui import ChatApp
from tests.tui.helpers import send, settle, wait_for

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

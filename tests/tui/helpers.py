"""Driving the app with Pilot and reading what it shows."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot

from alltoken_agent.tui import ChatApp
from alltoken_agent.tui.widgets import (
    AssistantTurn,
    ErrorMessage,
    MediaJob,
    NoteMessage,
    ToolPanel,
    UserMessage,
)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker runs: a reply, then the save it starts, then the screen update."""
    app = pilot.app
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if all(worker.is_finished for worker in app.workers):
            return
    raise AssertionError("the app's workers kept running")


async def send(pilot: Pilot[None], text: str, *, keys: bool = False) -> None:
    """Put ``text`` in the message box, press Enter, and wait for everything it starts.

    With ``keys`` every character is a key press (slower: only where typing is tested).
    """
    app = pilot.app
    assert isinstance(app, ChatApp)
    if keys:
        await pilot.press(*text)
    else:
        app.prompt.insert(text)
    await pilot.press("enter")
    await settle(pilot)


async def wait_for(pilot: Pilot[None], condition: object, timeout: float = 5.0) -> None:
    """Pause until ``condition()`` is true (a reply half-way through, a list loaded)."""
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def transcript(app: ChatApp) -> str:
    """The conversation as plain text: every message, reply, tool panel and note."""
    lines = []
    kinds = "UserMessage, AssistantTurn, ToolPanel, NoteMessage, ErrorMessage, MediaJob"
    for widget in app.chat.query(kinds):
        if isinstance(widget, UserMessage):
            lines.append(f"you: {widget.text}")
        elif isinstance(widget, AssistantTurn):
            lines.append(f"assistant: {widget.text}")
        elif isinstance(widget, ToolPanel):
            lines.append(f"tool {widget.tool_name}: {widget.result}")
        elif isinstance(widget, (NoteMessage, ErrorMessage)):
            lines.append(f"note: {widget.text}")
        elif isinstance(widget, MediaJob):
            lines.append(f"media: {widget.status}")
    return "\n".join(lines)

"""The message box: Enter sends, Shift+Enter / Ctrl+J add lines, paste, Up/Down history."""

from __future__ import annotations

from typing import Any

import pytest
from textual import events

from tests.tui.helpers import send, settle, transcript, wait_for


def chat_requests(sim: Any) -> list[Any]:
    return [r for r in sim.state.requests if r.path.endswith("/chat/completions")]


@pytest.mark.slow
async def test_shift_enter_and_ctrl_j_add_lines_and_enter_sends_them(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", "shift+enter", "b", "ctrl+j", "c")
        assert app.prompt.text == "a\nb\nc"
        assert not chat_requests(sim)
        await pilot.press("enter")
        await settle(pilot)
        assert app.prompt.text == ""
        assert "you: a\nb\nc" in transcript(app)
    [request] = chat_requests(sim)
    assert request.json["messages"][-1]["content"] == "a\nb\nc"


async def test_paste_keeps_every_line(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.post_message(events.Paste("line one\nline two\nline three"))
        await pilot.pause()
        assert app.prompt.text == "line one\nline two\nline three"


@pytest.mark.slow
async def test_up_and_down_walk_the_history_and_keep_the_draft(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "first")
        await send(pilot, "/help")
        await pilot.press("escape")
        await pilot.press(*"draft")
        await pilot.press("up")
        assert app.prompt.text == "/help"
        await pilot.press("up")
        assert app.prompt.text == "first"
        await pilot.press("up")  # the oldest stays
        assert app.prompt.text == "first"
        await pilot.press("down")
        assert app.prompt.text == "/help"
        await pilot.press("down")
        assert app.prompt.text == "draft"


@pytest.mark.slow
async def test_enter_during_a_reply_keeps_the_message_in_the_box(build: Any, sim: Any) -> None:
    # Slow enough that the reply is still running on a loaded machine.
    sim.state.enqueue_faults(["slow:2"])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("first")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy)
        await send(pilot, "second")
        assert "A reply is still running" in transcript(app)
        assert app.prompt.text == "second"
    assert [r.json["messages"][-1]["content"] for r in chat_requests(sim)] == ["first"]

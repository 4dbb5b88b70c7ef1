"""Chatting in the TUI with Pilot, against the simulator over loopback."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Markdown

from alltoken_agent.tui.screens import HelpScreen
from alltoken_agent.tui.widgets import (
    AssistantTurn,
    ErrorMessage,
    NoteMessage,
    ReasoningBlock,
    StatusBar,
    ToolPanel,
)
from tests.tui.helpers import send, settle, transcript, wait_for


def chat_requests(sim: Any) -> list[Any]:
    return [r for r in sim.state.requests if r.path.endswith("/chat/completions")]


@pytest.mark.slow
async def test_a_prompt_streams_a_markdown_reply(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Hello there", keys=True)
        turn = app.query_one(AssistantTurn)
        assert turn.text.startswith("[simulated minimax-m2.7] You said: Hello there.")
        assert turn.query_one(Markdown).source == turn.text
        assert "you: Hello there" in transcript(app)
        status = app.query_one(StatusBar)
        assert status.model == "minimax-m2.7"
        assert status.totals == "327 tokens · $0.000119"  # the simulator is deterministic
        assert not status.busy
    [request] = chat_requests(sim)
    assert request.json["stream"] is True
    assert request.json["messages"][-1] == {"role": "user", "content": "Hello there"}


@pytest.mark.slow
async def test_a_tool_call_shows_a_panel_with_its_result(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "What time is it in Tokyo?")
        [panel] = app.query(ToolPanel)
        assert panel.tool_name == "get_current_time"
        assert panel.arguments == {"timezone": "Asia/Tokyo"}
        assert panel.result is not None and '"timezone": "Asia/Tokyo"' in panel.result
        assert not panel.is_error
        turn = app.query_one(AssistantTurn)
        assert turn.text.startswith("(simulated) get_current_time returned:")


@pytest.mark.slow
async def test_escape_cancels_a_slow_reply_and_the_app_keeps_running(build: Any, sim: Any) -> None:
    sim.state.enqueue_faults(["stall:3:5"])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("Tell me a story")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy and app.query(Markdown))
        await pilot.press("escape")
        await settle(pilot)
        assert "note: Reply cancelled." in transcript(app)
        assert app.is_running and not app.busy
        # The history stays usable: the next message gets a normal reply.
        await send(pilot, "Are you there?")
        assert app.query(AssistantTurn).last().text.endswith("no real model was called.")
    assert chat_requests(sim)[-1].json["messages"][-1]["content"] == "Are you there?"


@pytest.mark.slow
async def test_ctrl_c_cancels_a_reply_and_a_second_ctrl_c_quits(build: Any, sim: Any) -> None:
    sim.state.enqueue_faults(["stall:3:5"])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("Tell me a story")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.busy and app.query(Markdown))
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert "note: Reply cancelled." in transcript(app)
        assert app.is_running
        await pilot.press("ctrl+c")
        assert not app.is_running


@pytest.mark.slow
async def test_ctrl_c_when_idle_warns_first_and_quits_on_the_second(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+c")
        assert not app.is_running


@pytest.mark.slow
async def test_a_gateway_error_shows_in_the_chat_with_code_and_request_id(
    build: Any, sim: Any
) -> None:
    sim.state.enqueue_faults(["401"])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Hello")
        error = app.query_one(ErrorMessage)
        assert error.text.startswith("invalid_api_key (HTTP 401): The API key is invalid")
        assert f"request id: {chat_requests(sim)[-1].request_id}" in error.text
        assert app.is_running
        await send(pilot, "Hello again")
        assert app.query(AssistantTurn).last().text.startswith("[simulated")


@pytest.mark.slow
async def test_ctrl_t_asks_for_thinking_on_the_next_turns(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+t")
        assert app.query_one(StatusBar).thinking
        await send(pilot, "Why is the sky blue?")
        assert chat_requests(sim)[-1].json["thinking"] is True
        [block] = app.query(ReasoningBlock)
        assert block.text.startswith("Simulated reasoning:") and block.collapsed
        await pilot.press("ctrl+t")
        await send(pilot, "And the sea?")
        assert "thinking" not in chat_requests(sim)[-1].json


@pytest.mark.slow
async def test_each_reasoning_block_of_a_tool_round_trip_is_shown_and_finished(
    build: Any, sim: Any
) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+t")
        await send(pilot, "What is 2+3?")
        blocks = list(app.query(ReasoningBlock))
        steps = [m for m in app.agent.get_messages() if m["role"] == "assistant"]
        # One block per reasoning:start/reasoning:end pair: the tool call's and the answer's.
        assert [b.text for b in blocks] == [m["reasoning_content"] for m in steps]
        assert all(str(b.title).startswith("Reasoning (") for b in blocks)  # none still open


@pytest.mark.slow
async def test_a_retry_is_a_note_not_a_crash(build: Any, sim: Any) -> None:
    sim.state.enqueue_faults(["429:0"])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Hello")
        notes = [n.text for n in app.query(NoteMessage)]
        assert any(n.startswith("rate_limit_exceeded: retrying in") for n in notes)
        assert app.query_one(AssistantTurn).text.startswith("[simulated")


@pytest.mark.slow
async def test_a_reply_keeps_streaming_behind_a_modal_screen(build: Any, sim: Any) -> None:
    sim.state.enqueue_faults(["slow:0.3"])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("Hello")
        await pilot.press("enter")
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.chat.query_one(AssistantTurn).text.startswith("[simulated")
        assert app.status.totals != "0 tokens · cost n/a"


async def test_ctrl_q_quits(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+q")
        assert not app.is_running

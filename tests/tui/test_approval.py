"""Approving tool calls in the TUI: the dialog, what the model then receives, and --yes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from alltoken_agent import app_dirs, load_config
from alltoken_agent.tui import ChatApp
from alltoken_agent.tui.screens import ApprovalScreen
from tests.cli.helpers import run_cli, write_config
from tests.gateway.helpers import TEST_KEY
from tests.tui.helpers import send, settle, transcript, wait_for

pytestmark = pytest.mark.slow

PROMPT = 'What is 6*7? [[call calculate {"expression": "6*7"}]]'
SIX_BY_SEVEN = '{"expression": "6*7", "result": 42}'
SIZE = (100, 30)


def tool_results(sim: Any) -> list[str]:
    """The tool messages of the last chat request: what the model received."""
    last = [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1]
    return [m["content"] for m in last.json["messages"] if m["role"] == "tool"]


async def ask(pilot: Pilot[None], text: str = PROMPT) -> ApprovalScreen:
    """Send ``text`` and wait for the approval dialog it opens."""
    app = pilot.app
    assert isinstance(app, ChatApp)
    app.prompt.insert(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen))
    dialog = app.screen
    assert isinstance(dialog, ApprovalScreen)
    await pilot.pause()
    return dialog


@pytest.mark.parametrize("key", ["a", "enter"])
async def test_allowing_runs_the_call_and_the_model_gets_its_result(
    build: Any, sim: Any, key: str
) -> None:
    app = build(require_approval=["calculate"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await ask(pilot)
        assert dialog.request.tool_name == "calculate"
        assert dialog.request.arguments == {"expression": "6*7"}
        shown = dialog.query_one("#approval-json", Static).content
        assert str(shown) == '{\n  "expression": "6*7"\n}'
        await pilot.press(key)
        await settle(pilot)
        assert not isinstance(app.screen, ApprovalScreen)
        assert "note: calculate: allowed" in transcript(app)
        assert f"tool calculate: {SIX_BY_SEVEN}" in transcript(app)
    assert tool_results(sim) == [SIX_BY_SEVEN]


async def test_denying_with_a_reason_tells_the_model_why(build: Any, sim: Any) -> None:
    app = build(require_approval=["calculate"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await ask(pilot)
        dialog.query_one("#approval-reason", Input).focus()
        await pilot.press(*"no maths today")
        await pilot.press("enter")
        await settle(pilot)
        assert "note: calculate: denied: no maths today" in transcript(app)
    assert tool_results(sim) == ["Error: the call was not run: no maths today"]


@pytest.mark.parametrize("key", ["d", "escape"])
async def test_denying_without_a_reason_gives_the_default_one(
    build: Any, sim: Any, key: str
) -> None:
    app = build(require_approval=["calculate"])
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert app.is_running
    assert tool_results(sim) == ["Error: the call was not run: the user declined this call"]


async def test_editing_runs_the_call_with_the_new_arguments(build: Any, sim: Any) -> None:
    app = build(require_approval=["calculate"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await ask(pilot)
        await pilot.press("e")
        editor = dialog.query_one("#approval-editor", TextArea)
        assert dialog.editing and editor.has_focus
        assert editor.text == '{\n  "expression": "6*7"\n}'
        editor.load_text('{"expression": "2*2"}')
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert 'note: calculate: edited, runs with {"expression": "2*2"}' in transcript(app)
    assert tool_results(sim) == [
        'Note: the user changed the arguments to {"expression": "2*2"}.\n'
        '{"expression": "2*2", "result": 4}'
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [("{not json", "Not valid JSON"), ('["2*2"]', "must be a JSON object")],
)
async def test_bad_edits_show_an_error_and_keep_the_dialog_open(
    build: Any, sim: Any, text: str, error: str
) -> None:
    app = build(require_approval=["calculate"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await ask(pilot)
        await pilot.press("e")
        dialog.query_one("#approval-editor", TextArea).load_text(text)
        await pilot.click("#approval-run")
        await pilot.pause()
        assert app.screen is dialog and dialog.editing
        assert error in str(dialog.query_one("#approval-error", Static).content)
        # Esc goes back to the question (not a denial); then allowing still works.
        await pilot.press("escape")
        assert app.screen is dialog and not dialog.editing
        await pilot.press("a")
        await settle(pilot)
    assert tool_results(sim) == [SIX_BY_SEVEN]


async def test_auto_approve_never_asks(build: Any, sim: Any) -> None:
    app = build(require_approval=["calculate"], auto_approve=True)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, PROMPT)
        assert not isinstance(app.screen, ApprovalScreen)
        assert "note: calculate: allowed" in transcript(app)
    assert tool_results(sim) == [SIX_BY_SEVEN]


async def test_the_config_file_decides_which_tools_need_approval(
    build: Any, sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, '[approval]\ntools = ["calculate"]\n')
    app = build(config=load_config(app_dirs().config_file))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await pilot.press("a")
        await settle(pilot)
    assert tool_results(sim) == [SIX_BY_SEVEN]


async def test_cancelling_the_reply_closes_the_dialog_and_keeps_a_usable_history(
    build: Any, sim: Any
) -> None:
    app = build(require_approval=["calculate"])
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert not isinstance(app.screen, ApprovalScreen)
        assert "note: Reply cancelled." in transcript(app)
        assert app.is_running and not app.busy
        # Nothing half-done was kept: the next turn sends no call without its result.
        # (The simulator reads directives from every user message since the last
        # assistant turn, so the model may ask for the call again: let it run.)
        app.auto_approve = True
        await send(pilot, "Are you there?")
    requests = [r for r in sim.state.requests if r.path.endswith("/chat/completions")]
    messages = requests[1].json["messages"]  # the first request of the next turn
    assert messages[-1] == {"role": "user", "content": "Are you there?"}
    assert not any(m.get("tool_calls") or m["role"] == "tool" for m in messages)


def test_the_cli_yes_flag_approves_every_call(
    sim: Any, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tui --yes` end to end, except that the app runs headless and sends one message.

    ``run_async`` is swapped for Textual's headless test driver because CliRunner has
    no terminal to draw on; the gateway, config and agent are the CLI's own.
    """
    write_config(isolated_environment, '[approval]\ntools = ["calculate"]\n')
    seen: list[str] = []

    async def run_headless(app: ChatApp) -> None:
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, PROMPT)
            assert not isinstance(app.screen, ApprovalScreen)
            seen.append(transcript(app))

    monkeypatch.setattr(ChatApp, "run_async", run_headless)
    result = run_cli("tui", "--base-url", sim.base_url, "--yes", env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert result.exit_code == 0, result.stderr
    assert "note: calculate: allowed" in seen[0]
    assert tool_results(sim) == [SIX_BY_SEVEN]


def test_the_approval_dialog(build: Any, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ChatApp)
        app.prompt.cursor_blink = False
        await settle(pilot)
        dialog = await ask(pilot)
        dialog.query_one("#approval-reason", Input).cursor_blink = False
        await pilot.pause()

    assert snap_compare(
        build(require_approval=["calculate"]), terminal_size=SIZE, run_before=run_before
    )

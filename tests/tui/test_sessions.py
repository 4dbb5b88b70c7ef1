"""Sessions: finished turns are stored; /sessions and --session resume a conversation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from alltoken_agent.store import Store
from alltoken_agent.tui.screens import SessionsScreen
from alltoken_agent.tui.sessions import default_session_name
from alltoken_agent.tui.timeline import METADATA_KEY
from alltoken_agent.tui.widgets import StatusBar, UserMessage
from alltoken_agent.tui.widgets.chat_log import REPLAY_MESSAGES
from tests.tui.conftest import SESSION
from tests.tui.helpers import send, settle, transcript, wait_for

YESTERDAY = [
    {"role": "user", "content": "My name is Ada."},
    {"role": "assistant", "content": "Nice to meet you, Ada."},
]


def last_chat_request(sim: Any) -> Any:
    return [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1]


def store_yesterday(store: Store) -> None:
    record = store.sessions.create_session(name="yesterday", model="glm-5")
    store.sessions.append_messages(record.id, YESTERDAY)


def test_a_new_session_is_named_by_date_and_time() -> None:
    assert default_session_name(datetime(2026, 5, 1, 14, 3, 7)) == "chat 2026-05-01 14:03:07"


@pytest.mark.slow
async def test_every_finished_turn_is_stored_in_a_new_session(build: Any, store: Store) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Hello")
        assert app.query_one(StatusBar).session == SESSION
        await send(pilot, "What is 2+3?")
    record = store.sessions.find_session(SESSION)
    assert record is not None and record.model == "minimax-m2.7"
    messages = store.sessions.load_messages(record.id)
    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert record.instructions == "You are a helpful assistant."


@pytest.mark.slow
async def test_sessions_lists_stored_sessions_and_resumes_one(
    build: Any, store: Store, sim: Any
) -> None:
    store_yesterday(store)
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/sessions")
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        options = screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count == 1)
        row = str(options.get_option_at_index(0).prompt)
        assert "yesterday" in row and "2 messages" in row
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, SessionsScreen)
        assert "you: My name is Ada." in transcript(app)
        assert "assistant: Nice to meet you, Ada." in transcript(app)
        assert app.query_one(StatusBar).session == "yesterday"
        assert app.agent.model == "glm-5"
        await pilot.press("up")
        assert app.prompt.text == "My name is Ada."
        app.prompt.clear()
        await send(pilot, "What is my name?")
    request = last_chat_request(sim)
    assert request.json["model"] == "glm-5"
    assert request.json["messages"][1:] == [
        *YESTERDAY,
        {"role": "user", "content": "What is my name?"},
    ]
    record = store.sessions.find_session("yesterday")
    assert record is not None and record.message_count == 4
    assert store.sessions.find_session(SESSION) is None


@pytest.mark.slow
async def test_the_session_option_resumes_at_start(build: Any, store: Store, sim: Any) -> None:
    store_yesterday(store)
    app = build(session="yesterday")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert len(app.query(UserMessage)) == 1
        await send(pilot, "And now?")
    assert last_chat_request(sim).json["messages"][1:3] == YESTERDAY


@pytest.mark.slow
async def test_sessions_without_a_store_says_so(build: Any) -> None:
    app = build(store=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/sessions")
        assert not isinstance(app.screen, SessionsScreen)
        assert "No session store is open" in transcript(app)


@pytest.mark.slow
async def test_the_sessions_picker_filters_by_name_model_and_first_prompt(
    build: Any, store: Store
) -> None:
    store_yesterday(store)
    work = store.sessions.create_session(name="work notes", model="deepseek-v4-flash")
    store.sessions.append_messages(work.id, [{"role": "user", "content": "Plan the sprint"}])
    unnamed = store.sessions.create_session(model="minimax-m2.7")
    store.sessions.append_messages(unnamed.id, [{"role": "user", "content": "Poem about foxes"}])
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/sessions")
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        options = screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count == 3)

        def shown() -> list[str]:
            return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

        # A session without a name is titled by its first prompt.
        assert any("Poem about foxes" in row for row in shown())
        await pilot.press(*"deepseek")
        assert len(shown()) == 1 and "work notes" in shown()[0]
        search = screen.query_one(Input)

        async def erase() -> None:
            await pilot.press(*["backspace"] * len(search.value))

        await erase()
        await pilot.press(*"FOXES")
        assert len(shown()) == 1 and "Poem about foxes" in shown()[0]
        await pilot.press("backspace", *"zzz")
        assert shown() == []
        assert "0 of 3 sessions match" in str(screen.query_one("#sessions-status").render())
        await erase()
        await pilot.press(*"glm")
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, SessionsScreen)
        assert app.query_one(StatusBar).session == "yesterday"
        assert "you: My name is Ada." in transcript(app)


@pytest.mark.slow
async def test_a_session_name_not_stored_yet_says_once_that_it_starts_a_new_one(
    build: Any, store: Store
) -> None:
    store_yesterday(store)
    app = build(session="yesterdy")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        notices = [line for line in transcript(app).splitlines() if "yesterdy" in line]
        assert notices == ["note: No session named 'yesterdy' yet: this starts a new one."]
        await send(pilot, "Hello")
    record = store.sessions.find_session("yesterdy")
    assert record is not None and record.message_count == 2


@pytest.mark.slow
async def test_a_stored_session_named_at_start_is_not_called_new(build: Any, store: Store) -> None:
    store_yesterday(store)
    app = build(session="yesterday")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown = transcript(app)
    assert "note: Session yesterday: 2 stored messages." in shown
    assert "starts a new one" not in shown


def long_session(store: Store, turns: int) -> list[dict[str, Any]]:
    """A stored session named "long": each turn a question, a tool call and an answer."""
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        call = {
            "id": f"call-{i}",
            "type": "function",
            "function": {"name": "calculator", "arguments": f'{{"expression": "{i}+{i}"}}'},
        }
        messages += [
            {"role": "user", "content": f"Question {i}: what is {i}+{i}?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call-{i}", "content": str(2 * i)},
            {"role": "assistant", "content": f"Answer {i}: {2 * i}."},
        ]
    record = store.sessions.create_session(name="long", model="minimax-m2.7")
    store.sessions.append_messages(record.id, messages)
    return messages


@pytest.mark.slow
async def test_a_long_session_shows_its_newest_whole_turns_and_says_how_many_it_leaves_out(
    build: Any, store: Store, sim: Any
) -> None:
    messages = long_session(store, 300)  # 1,200 messages
    shown_from = len(messages) - REPLAY_MESSAGES  # a user message: the turns are 4 long
    app = build(session="long")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        lines = transcript(app).splitlines()
        at = lines.index(
            f"note: {shown_from:,} earlier messages of this session are not shown here; "
            "the model still gets as many of them as fit its context."
        )
        assert lines[at + 1] == f"you: {messages[shown_from]['content']}"
        assert lines[at + 2] == "assistant: Answer 275: 550."
        assert lines[at + 3] == "tool calculator: 550"  # its call, with the stored result
        assert len(app.query(UserMessage)) == REPLAY_MESSAGES // 4
        assert lines[-1] == "note: Session long: 1200 stored messages."
        await pilot.press("up")  # Up recalls the newest question
        assert app.prompt.text == "Question 299: what is 299+299?"
        app.prompt.clear()
        await send(pilot, "And the next one?")
    sent = last_chat_request(sim).json["messages"]
    assert sent[1:-1] == messages  # the model gets the whole session, which fits
    record = store.sessions.find_session("long")
    assert record is not None and record.message_count == 1202


@pytest.mark.slow
async def test_no_style_makes_every_widget_restyle_when_one_is_added(
    build: Any, store: Store
) -> None:
    """A rule like ``X > *:last-child`` marks every widget as styled by its position.

    Textual then restyles each of the log's widgets (and all within them) whenever one
    is mounted: a long conversation got slower with every message, quadratically on
    resume. ``_has_order_style`` is Textual's own mark for it.
    """
    long_session(store, 5)
    app = build(session="long")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        marked = [w for w in app.chat.query("*") if w._has_order_style]
    assert {type(w).__name__ for w in marked} <= {"MarkdownParagraph"}


@pytest.mark.slow
async def test_a_session_longer_than_the_context_gives_the_agent_what_fits_and_saves_it_all(
    build: Any, store: Store, sim: Any, workdir: Path
) -> None:
    """As ``chat --session``: only the newest messages that can fit are read for the agent.

    The positions of media jobs count from the session's start, and /save still
    writes every stored message.
    """
    turns = 600  # 1,200 messages of ~1,000 characters: ~300k tokens, past 204,800
    record = store.sessions.create_session(name="huge", model="minimax-m2.7")
    messages = [
        {"role": role, "content": f"{role} {i}: " + "lorem ipsum dolor " * 55}
        for i in range(turns)
        for role in ("user", "assistant")
    ]
    store.sessions.append_messages(record.id, messages)
    timeline = {"media": [{"after": 2 * turns - 2, "kind": "image", "prompt": "a fox",
                           "paths": [str(workdir / "fox.png")]}]}  # fmt: skip
    store.sessions.update_session(record.id, metadata={METADATA_KEY: timeline})
    app = build(session="huge")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        skipped = app.conversation.keeper.skipped
        assert 0 < skipped < len(messages)
        shown = transcript(app).splitlines()
        assert f"note: Session huge: {len(messages)} stored messages." in shown
        hidden = len(messages) - REPLAY_MESSAGES
        at = shown.index(
            f"note: {hidden:,} earlier messages of this session are not shown here; "
            "the model still gets as many of them as fit its context."
        )
        assert shown[at + 1].startswith(f"you: user {hidden // 2}: ")
        # The image came after the next-to-last turn, where it is shown again.
        kinds = [type(w).__name__ for w in app.chat.children]
        assert kinds[-4:] == ["MediaResult", "UserMessage", "AssistantTurn", "NoteMessage"]
        await send(pilot, "And now?")
        await send(pilot, "/save")
    kept = last_chat_request(sim).json["messages"][1:-1]
    # The newest part, not all of it: within what was read (the agent trims it exactly).
    assert 0 < len(kept) <= len(messages) - skipped
    assert kept == messages[len(messages) - len(kept) :]
    stored = store.sessions.find_session("huge")
    assert stored is not None and stored.message_count == len(messages) + 2
    [saved] = workdir.glob("*.md")
    text = saved.read_text()
    assert "user 0: " in text and "And now?" in text  # the whole conversation

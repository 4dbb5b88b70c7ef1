"""A long chat stays as quick as a short one: the log keeps its newest entries mounted.

Textual lays the whole log out again on every change, so the log unmounts its oldest
entries past ``ChatLog.live_entries`` (lowered here, so a few messages show it), and the
key hints leave no watcher behind each time they are built again (textual #6666).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from alltoken_agent.tui.widgets import AssistantTurn, KeyHints, MediaJob, NoteMessage, UserMessage
from alltoken_agent.tui.widgets.chat_log import EARLIER, TRIMMED_NOTE
from tests.tui.helpers import send, settle, wait_for

pytestmark = pytest.mark.slow


async def test_a_long_chat_shows_its_newest_entries_and_the_model_and_save_keep_all(
    build: Any, workdir: Path
) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.live_entries, app.chat.trim_step = 6, 2
        for index in range(8):
            await send(pilot, f"message {index}")
            # Never more than the newest 6 entries, 2 more before a trim, and the note.
            assert len(app.chat.children) <= 6 + 2 + 1
        note, *entries = app.chat.children
        assert isinstance(note, NoteMessage) and note.has_class(EARLIER)
        assert note.text == TRIMMED_NOTE
        shown = [entry.text for entry in entries if isinstance(entry, UserMessage)]
        assert shown[-1] == "message 7" and "message 0" not in shown
        assert all(isinstance(entry, (UserMessage, AssistantTurn)) for entry in entries)
        # Only the view is trimmed: the agent has every message, /save writes them all.
        assert app.agent.message_count == 1 + 8 * 2
        await send(pilot, "/save")
    [saved] = workdir.glob("*.md")
    assert "message 0" in saved.read_text(encoding="utf-8")


async def test_a_resumed_sessions_note_becomes_the_trimmed_one(build: Any, store: Any) -> None:
    record = store.sessions.create_session(name="long", model="minimax-m2.7")
    stored = []
    for index in range(150):
        stored += [
            {"role": "user", "content": f"question {index}"},
            {"role": "assistant", "content": f"answer {index}"},
        ]
    store.sessions.append_messages(record.id, stored)
    app = build(session="long")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        [resumed] = app.chat.query_children(f".{EARLIER}")
        assert isinstance(resumed, NoteMessage) and resumed.text.startswith("200 earlier messages")
        app.chat.live_entries, app.chat.trim_step = 10, 2
        await send(pilot, "one more")
        notes = list(app.chat.query_children(f".{EARLIER}"))
        assert notes == [app.chat.children[0]]  # one note, at the top, no count it cannot know
        assert isinstance(notes[0], NoteMessage) and notes[0].text == TRIMMED_NOTE
        assert len(app.chat.children) <= 1 + 10 + 2


async def test_a_media_job_that_still_runs_is_never_trimmed(build: Any, sim: Any) -> None:
    sim.state.media.enqueue_job_faults(["slow:60"])  # the video takes a minute
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.live_entries, app.chat.trim_step = 3, 1
        app.prompt.insert("/video a paper boat")
        await pilot.press("enter")
        [job] = app.query(MediaJob)
        await wait_for(pilot, lambda: job.job_id is not None)
        for index in range(4):  # the chat goes on beside the job
            said = app.agent.message_count
            app.prompt.insert(f"message {index}")
            await pilot.press("enter")
            await wait_for(
                pilot, lambda said=said: app.agent.message_count >= said + 2 and not app.replying
            )
        assert job.running and job in app.chat.children
        assert [w for w in app.chat.children if isinstance(w, UserMessage)][0].text != "message 0"
        await pilot.press("escape")
        await settle(pilot)
        assert not job.running


async def test_the_key_hints_keep_no_watcher_of_the_keys_they_removed(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        for index in range(5):  # each reply shows and hides "Esc Cancel": keys built again
            await send(pilot, f"message {index}")
        [hints] = app.query(KeyHints)
        keys = list(hints.query(FooterKey))
        watchers = getattr(hints, "__watchers", {}).get("compact", [])
        # Textual's Footer kept one per key ever built (~33 a message), each holding its key.
        assert len(watchers) <= len(keys)
        assert all(node in keys for node, _ in watchers)

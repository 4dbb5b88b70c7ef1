"""What happened between the messages: system prompts in /save, media and reasoning on resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.store import Store
from alltoken_agent.tui.timeline import METADATA_KEY, from_metadata
from alltoken_agent.tui.widgets import AssistantTurn, MediaResult, ReasoningBlock, UserMessage
from tests.tui.conftest import SESSION
from tests.tui.helpers import send, settle

SIZE = (100, 30)


@pytest.mark.slow
async def test_save_puts_each_system_prompt_where_it_was_set(build: Any, workdir: Path) -> None:
    app = build(instructions="Answer kindly.")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
        await send(pilot, "/system Answer in one word.")
        await send(pilot, "And now?")
        await send(pilot, "/save")
    text = (workdir / "test-session.md").read_text(encoding="utf-8")
    first = "## System\n\nAnswer kindly.\n"
    changed = "## System (changed here)\n\nAnswer in one word.\n"
    assert first in text and changed in text
    assert text.index(first) < text.index("## You\n\nHello")
    assert text.index("## You\n\nHello") < text.index(changed) < text.index("## You\n\nAnd now?")
    assert text.count("## System") == 2


@pytest.mark.slow
async def test_a_system_prompt_replaced_before_anything_was_said_is_shown_once(
    build: Any, workdir: Path
) -> None:
    app = build(instructions="Answer kindly.")
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/system Answer in one word.")
        await send(pilot, "Hello")
        await send(pilot, "/save")
    text = (workdir / "test-session.md").read_text(encoding="utf-8")
    assert "## System\n\nAnswer in one word.\n" in text
    assert "Answer kindly." not in text and "changed here" not in text


@pytest.mark.slow
async def test_a_resumed_session_keeps_its_system_prompts_in_place_for_save(
    build: Any, workdir: Path
) -> None:
    first = build(instructions="Answer kindly.")
    async with first.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
        await send(pilot, "/system Answer in one word.")
        await send(pilot, "And now?")
    again = build(session=SESSION)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await send(pilot, "/save")
    [saved] = workdir.glob("*.md")
    text = saved.read_text(encoding="utf-8")
    changed = "## System (changed here)\n\nAnswer in one word.\n"
    assert text.index("## System\n\nAnswer kindly.") < text.index("Hello") < text.index(changed)


@pytest.mark.slow
async def test_a_resumed_session_keeps_its_reasoning_blocks(build: Any) -> None:
    first = build()
    async with first.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await send(pilot, "Why is the sky blue?")
        [live] = first.query(ReasoningBlock)
        reasoning = live.text
    assert reasoning
    again = build(session=SESSION)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        [turn] = again.query(AssistantTurn)
        [block] = turn.query(ReasoningBlock)
        assert block.text == reasoning and block.collapsed
        assert block.title == f"Reasoning ({len(reasoning.split())} words)"
        # The reasoning comes before the answer, as it did live.
        assert turn.children.index(block) == 0


@pytest.mark.slow
async def test_a_resumed_session_shows_its_images_where_they_were_made(
    build: Any, store: Store, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLORTERM", "truecolor")  # a terminal that can show the preview
    first = build()
    async with first.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
        await send(pilot, "/image a red square")
        await send(pilot, "Thanks")
    [image] = workdir.glob("*.png")
    again = build(session=SESSION)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        [result] = again.chat.query(MediaResult)
        assert result.paths == [image] and result.previews == 1
        order = [
            type(w).__name__
            for w in again.chat.children
            if isinstance(w, (UserMessage, AssistantTurn, MediaResult))
        ]
        assert order == [
            "UserMessage",
            "AssistantTurn",
            "MediaResult",
            "UserMessage",
            "AssistantTurn",
        ]
    record = store.sessions.find_session(SESSION)
    assert record is not None
    media, _ = from_metadata(record.metadata)
    assert [(m.after, m.kind, m.prompt) for m in media] == [(2, "image", "a red square")]


@pytest.mark.slow
async def test_an_image_made_after_the_last_turn_is_kept_and_a_deleted_file_said(
    build: Any, store: Store, workdir: Path
) -> None:
    first = build()
    async with first.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
        await send(pilot, "/image a red square")
    [image] = workdir.glob("*.png")
    image.unlink()
    again = build(session=SESSION)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(again.chat.query(MediaResult)) == 1
        [link] = again.chat.query(".media-path")
        assert str(link.render()) == f"saved {image}  (no longer there)"


def test_a_timeline_that_is_not_ours_is_read_defensively() -> None:
    hostile = {
        METADATA_KEY: {
            "media": [
                {"after": -1, "kind": "image", "prompt": "x", "paths": ["a.png"]},
                {"after": 1, "kind": "exe", "prompt": "x", "paths": ["a.png"]},
                {"after": 1, "kind": "image", "prompt": "x", "paths": "a.png"},
                {"after": True, "kind": "image", "prompt": "x", "paths": ["a.png"]},
                "junk",
                {"after": 1, "kind": "image", "prompt": "ok", "paths": ["a.png"]},
            ],
            "prompts": [{"after": 0, "text": 5}, {"after": 2, "text": None}],
        }
    }
    media, prompts = from_metadata(hostile)
    assert [(m.after, m.prompt) for m in media] == [(1, "ok")]
    assert [(p.after, p.text) for p in prompts] == [(2, None)]
    assert from_metadata({METADATA_KEY: "nope"}) == ([], [])

"""Slash commands, the model picker and the help screen, driven with Pilot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from alltoken_agent.tui.screens import HelpScreen, ModelPicker
from alltoken_agent.tui.widgets import MediaJob, MediaResult, StatusBar, UserMessage
from tests.tui.helpers import send, settle, transcript, wait_for


def _media_available() -> bool:
    try:
        from alltoken_agent.media import ImagesAPI  # noqa: F401
    except ImportError:
        return False
    return True


HAS_MEDIA = _media_available()


def last_chat_request(sim: Any) -> Any:
    return [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1]


@pytest.mark.slow
async def test_model_command_switches_the_model_for_the_next_turn(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Hi")
        await send(pilot, "/model deepseek-v4-flash")
        assert app.query_one(StatusBar).model == "deepseek-v4-flash"
        assert "note: Model: deepseek-v4-flash (from the next message on)." in transcript(app)
        await send(pilot, "Hi again")
    request = last_chat_request(sim)
    assert request.json["model"] == "deepseek-v4-flash"
    assert [m["content"] for m in request.json["messages"] if m["role"] == "user"] == [
        "Hi",
        "Hi again",
    ]


@pytest.mark.slow
async def test_the_model_picker_searches_as_you_type_and_switches(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f2")
        picker = app.screen
        assert isinstance(picker, ModelPicker)
        options = picker.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count > 0)
        assert len(picker.models) > 5
        flash = next(m for m in picker.models if m.id == "deepseek-v4-flash")
        assert flash.price_text == "$0.14 / $0.28 per 1M"  # the sim plays a real gateway
        await pilot.press(*"v4 flash")
        await pilot.pause()
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
            "deepseek-v4-flash"
        ]
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ModelPicker)
        assert app.agent.model == "deepseek-v4-flash"
        await send(pilot, "Hello")
    assert last_chat_request(sim).json["model"] == "deepseek-v4-flash"


async def test_the_pickers_prices_from_the_simulator_say_they_are_made_up() -> None:
    from alltoken_agent import Gateway
    from alltoken_agent.tui.catalog import load_models

    async with Gateway.offline() as gateway:
        models = await load_models(gateway)
    priced = [m for m in models if m.input_per_1m is not None]
    assert priced and all(m.price_text.endswith(" per 1M (simulated)") for m in priced)


@pytest.mark.slow
async def test_model_without_a_name_opens_the_picker_and_escape_keeps_the_model(
    build: Any,
) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/model")
        assert isinstance(app.screen, ModelPicker)
        assert app.screen.query_one(Input).has_focus
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ModelPicker)
        assert app.agent.model == "minimax-m2.7"


@pytest.mark.slow
async def test_clear_forgets_the_conversation(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Remember the number 7.")
        await send(pilot, "/clear")
        assert not app.query(UserMessage)
        assert "note: Conversation cleared" in transcript(app)
        await send(pilot, "What was the number?")
    messages = last_chat_request(sim).json["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]


@pytest.mark.slow
async def test_help_opens_a_screen_that_escape_closes(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/help")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


@pytest.mark.slow
async def test_system_sets_the_prompt_of_the_next_turns(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/system Answer in one word.")
        await send(pilot, "/system")
        assert "note: System prompt: Answer in one word." in transcript(app)
        await send(pilot, "Hi")
    assert last_chat_request(sim).json["messages"][0] == {
        "role": "system",
        "content": "Answer in one word.",
    }


@pytest.mark.slow
async def test_save_exports_the_conversation_to_markdown(build: Any, workdir: Path) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "What is 2+3?")
        await send(pilot, "/save")
        await send(pilot, "/save")
        assert f"note: Saved the conversation to {workdir / 'test-session.md'}" in transcript(app)
    assert sorted(p.name for p in workdir.iterdir()) == ["test-session-2.md", "test-session.md"]
    text = (workdir / "test-session.md").read_text(encoding="utf-8")
    assert text.startswith("# test session\n\nModel: `minimax-m2.7`\n")
    assert "## You\n\nWhat is 2+3?" in text
    assert "> Tool call `calculate`" in text
    assert "(simulated) calculate returned: expression=2+3, result=5." in text


@pytest.mark.slow
async def test_an_unknown_command_is_a_note(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/frobnicate now")
        await send(pilot, "//frobnicate is not a command")
        assert "note: Unknown command /frobnicate; /help lists the commands." in transcript(app)
    assert last_chat_request(sim).json["messages"][-1]["content"] == "/frobnicate is not a command"


@pytest.mark.slow
async def test_media_on_a_gateway_without_a_media_api_says_it_is_not_available(
    build: Any, workdir: Path
) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        # A plain object stands for a gateway of a version without media jobs.
        await app.chat.add(MediaJob(object(), "image", "a red square", workdir))
        await app.chat.add(MediaJob(object(), "video", "a red square", workdir))
        await settle(pilot)
        text = transcript(app)
        assert "media: image generation is not available in this version" in text
        assert "media: video generation is not available in this version" in text


async def test_media_commands_need_a_prompt(build: Any) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/image")
        assert "note: Usage: /image PROMPT" in transcript(app)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MEDIA, reason="the media API has not landed yet")
async def test_image_shows_the_saved_file(build: Any, workdir: Path) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/image a red square")
        [result] = app.query(MediaResult)
        assert result.paths and all(p.exists() and p.parent == workdir for p in result.paths)
        assert "media: image job: done." in transcript(app)


@pytest.mark.slow
async def test_save_puts_generated_media_where_it_was_made(build: Any, workdir: Path) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Hello")
        await send(pilot, "/image a red square")
        await send(pilot, "/video a paper boat")
        await send(pilot, "Thanks")
        await send(pilot, "/save")
    [image] = [p for p in workdir.iterdir() if p.suffix == ".png"]
    [video] = [p for p in workdir.iterdir() if p.suffix == ".mp4"]
    text = (workdir / "test-session.md").read_text(encoding="utf-8")
    # Embedded by a path relative to the document, so the folder can be moved whole.
    image_section = f"## Image: a red square\n\n![a red square](<{image.name}>)\n"
    video_section = f"## Video: a paper boat\n\n[{video.name}](<{video.name}>)\n"
    assert image_section in text and video_section in text
    assert text.index("Hello") < text.index(image_section) < text.index(video_section)
    assert text.index(video_section) < text.index("## You\n\nThanks")


@pytest.mark.slow
async def test_save_with_only_media_is_not_empty(build: Any, workdir: Path) -> None:
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/image a red square")
        await send(pilot, "/save")
        assert "note: Nothing to save yet." not in transcript(app)
    [saved] = workdir.glob("*.md")
    assert "## Image: a red square" in saved.read_text(encoding="utf-8")


@pytest.mark.slow
async def test_cancelling_a_media_job_names_the_command_that_finishes_it(
    build: Any, sim: Any, workdir: Path
) -> None:
    sim.state.enqueue_faults(["slow:0", "slow:5"])  # the create answers, the first poll hangs
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        app.prompt.insert("/video a paper boat")
        await pilot.press("enter")
        [job] = app.query(MediaJob)
        await wait_for(pilot, lambda: job.job_id is not None and app.busy)
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running and not app.busy
        assert job.status == (
            f"video job: cancelled here; `alltoken-agent jobs resume {job.job_id}` "
            "finishes it without submitting again."
        )
    assert not list(workdir.glob("*.mp4"))

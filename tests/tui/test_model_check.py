"""``/model NAME`` checks the name against the models the gateway lists."""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent.tui.model_check import refusal
from alltoken_agent.tui.widgets import StatusBar
from tests.tui.helpers import send, settle, transcript, wait_for

SIZE = (100, 30)


def chat_requests(sim: Any) -> list[Any]:
    return [r for r in sim.state.requests if r.path.endswith("/chat/completions")]


@pytest.mark.slow
async def test_an_unknown_model_is_refused_with_close_names(build: Any, sim: Any) -> None:
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/model deepseek-v4-flsh")
        shown = transcript(app)
        assert "'deepseek-v4-flsh' is not one of the chat models sim-alltoken lists" in shown
        assert "Did you mean deepseek-v4-flash" in shown
        assert "Model: deepseek-v4-flsh" not in shown
        assert app.agent.model == "minimax-m2.7"
        assert app.query_one(StatusBar).model == "minimax-m2.7"
        await send(pilot, "Hi")
        # The simulator logs a request once its handler returns, maybe after the reply.
        await wait_for(pilot, lambda: chat_requests(sim))
    assert chat_requests(sim)[-1].json["model"] == "minimax-m2.7"


@pytest.mark.slow
async def test_a_known_model_and_a_policy_are_accepted(build: Any) -> None:
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/model glm-5")
        assert app.agent.model == "glm-5"
        await send(pilot, "/model auto:cheap")
        assert app.agent.model == "auto:cheap"
        assert "not one of the chat models" not in transcript(app)


@pytest.mark.slow
async def test_when_the_list_cannot_be_read_the_switch_says_it_was_not_checked(
    build: Any, sim: Any
) -> None:
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        sim.state.enqueue_faults(["401"])
        await send(pilot, "/model glm-5")
        assert app.agent.model == "glm-5"
        assert "Could not check 'glm-5' against the model list" in transcript(app)


def test_refusal_names_nothing_when_nothing_is_close() -> None:
    text = refusal("zzzz", ["glm-5", "minimax-m2.7"], "alltoken")
    assert text is not None and "Did you mean" not in text
    assert refusal("glm-5", ["glm-5"], "alltoken") is None


@pytest.mark.slow
async def test_a_message_sent_right_after_model_goes_to_the_checked_model(
    build: Any, sim: Any
) -> None:
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        # The model list answers late, so the message is sent while the name is checked.
        sim.state.enqueue_faults(["slow:1"])
        app.prompt.insert("/model glm-5")
        await pilot.press("enter")
        app.prompt.insert("Hi")
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: chat_requests(sim))
    assert chat_requests(sim)[-1].json["model"] == "glm-5"

"""``Agent(settings=...)``: typed request settings, checked at run time, sent on the wire."""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import Agent, UserError, create_agent
from tests.gateway.helpers import gateway_for


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    return [r.json for r in server.state.requests if r.path.endswith("/chat/completions")]


def test_a_misspelled_argument_is_a_type_error_naming_the_right_one() -> None:
    with pytest.raises(TypeError, match="'temprature'; did you mean 'temperature'"):
        Agent(temprature=0.2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'temprature'; did you mean 'temperature'"):
        create_agent(temprature=0.2)  # type: ignore[call-arg]


def test_a_request_setting_given_as_an_argument_points_at_settings() -> None:
    with pytest.raises(TypeError, match=r"'max_tokens'; request settings go in settings="):
        Agent(max_tokens=16)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"temprature": 0.2}, "unknown key 'temprature'; did you mean 'temperature'?"),
        ({"max_token": 5}, "unknown key 'max_token'; did you mean 'max_tokens'?"),
        ({"model": "x"}, "unknown key 'model' (pass model= to the agent)"),
        ({"stream": False}, "unknown key 'stream'"),
        ({"qqqq": 1}, "unknown key 'qqqq'; known keys: enable_search, extra_body"),
        ({"max_tokens": 0}, "'max_tokens' must be an integer of at least 1, not 0"),
        ({"max_tokens": "many"}, "'max_tokens' must be an integer of at least 1"),
        ({"temperature": "hot"}, "'temperature' must be a finite number or None"),
        ({"top_p": float("nan")}, "'top_p' must be a finite number, not nan"),
        ({"presence_penalty": float("inf")}, "'presence_penalty' must be a finite number"),
        ({"seed": True}, "'seed' must be an integer, not True"),
        ({"thinking": "yes"}, "'thinking' must be True or False"),
        ({"stop": ["END", 3]}, "'stop' must be a string or a list of strings"),
        ({"tool_choice": "sometimes"}, "'tool_choice' must be 'auto', 'none', 'required'"),
        ({"extra_body": {"messages": []}}, "extra_body may not set 'messages'"),
        ({"extra_body": {"top_p": 0.5}}, "extra_body may not set 'top_p'"),
    ],
)
def test_a_bad_setting_is_a_user_error_naming_the_key(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserError) as caught:
        Agent(settings=settings)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_settings_must_be_a_mapping() -> None:
    with pytest.raises(UserError, match="settings must be a mapping"):
        Agent(settings=[("temperature", 0.2)])  # type: ignore[arg-type]


async def test_settings_go_out_with_every_request(sim: Any) -> None:
    settings: dict[str, Any] = {
        "max_tokens": 40,
        "top_p": 0.9,
        "stop": ("END",),
        "seed": 7,
        "presence_penalty": 0.5,
        "extra_body": {"x_trace": "abc"},
    }
    async with gateway_for(sim) as gateway:
        agent = Agent(gateway=gateway, settings=settings)  # type: ignore[arg-type]
        await agent.send("hello")
        await agent.send("and again")
    bodies = chat_bodies(sim)
    assert len(bodies) == 2
    for body in bodies:
        assert body["max_tokens"] == 40
        assert body["top_p"] == 0.9
        assert body["stop"] == ["END"]
        assert body["seed"] == 7
        assert body["presence_penalty"] == 0.5
        assert body["x_trace"] == "abc"
        assert "extra_body" not in body
        assert body["temperature"] == 0.7  # the argument's default, not overridden here
    assert settings["stop"] == ("END",)  # the caller's mapping is left as it was


async def test_the_agent_knobs_in_settings_win_over_the_arguments(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        agent = Agent(
            "deepseek-v4-flash",
            gateway=gateway,
            temperature=0.7,
            settings={"temperature": 0.1, "thinking": True, "thinking_budget": 300},
        )
        assert (agent.temperature, agent.thinking, agent.thinking_budget) == (0.1, True, 300)
        assert agent.settings == {}
        await agent.send("hello")
    body = chat_bodies(sim)[-1]
    assert body["temperature"] == 0.1
    assert body["thinking"] is True
    assert body["thinking_budget"] == 300


async def test_temperature_none_in_settings_leaves_it_to_the_model(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        agent = Agent(gateway=gateway, settings={"temperature": None})
        await agent.send("hello")
    assert "temperature" not in chat_bodies(sim)[-1]

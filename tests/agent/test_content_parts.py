"""Text and images go out as content parts the spec accepts, through every agent entry.

Each request is read back from the simulator's log and checked with AllToken's own
request model (`alltoken.generated.chat.ChatCompletionRequest`), not with our code.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import pytest
from alltoken.generated.chat import ChatCompletionRequest, ChatMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from alltoken_agent import Agent, UserError, image, text
from alltoken_agent.agent import IMAGE_URL_PATTERN, MessageUserEvent, StreamEndEvent
from alltoken_agent.agent.content import user_content
from alltoken_agent.store import Store
from tests.gateway.helpers import gateway_for

_open: list[Any] = []


@pytest.fixture(autouse=True)
async def close_gateways() -> Any:
    yield
    while _open:
        await _open.pop().aclose()


def agent_on(server: Any, **kwargs: Any) -> Agent:
    gateway = gateway_for(server)
    _open.append(gateway)
    return Agent(gateway=gateway, tools=[], **kwargs)


def png_bytes(width: int = 64, height: int = 48, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(png_bytes(kind="JPEG"))
    return path


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    return [r.json for r in server.state.requests if r.path.endswith("/chat/completions")]


def spec_user_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The last user message's parts, after the spec model accepted the whole request."""
    request = ChatCompletionRequest.model_validate(body)
    user = [m for m in request.messages if m.role.value == "user"][-1]
    assert isinstance(user.content, list)
    return [part.model_dump(mode="json", exclude_none=True) for part in user.content]


# -- user_content: the shape, without a network --------------------------------------


def test_strings_in_a_list_become_text_parts_and_images_stay_parts(photo: Path) -> None:
    parts = user_content(["What is in this picture?", image(photo)])
    assert parts[0] == {"type": "text", "text": "What is in this picture?"}
    assert parts[1]["type"] == "image_url"
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_paths_bytes_urls_and_data_urls_become_image_parts(photo: Path) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    parts = user_content(
        [photo, png_bytes(), image("https://example.test/cat.png", detail="low"), data_url]
    )
    assert [p["type"] for p in parts] == ["image_url"] * 4
    assert parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"] == {"url": "https://example.test/cat.png", "detail": "low"}
    assert parts[3]["image_url"] == {"url": data_url}


def test_a_single_part_path_or_bytes_is_a_one_part_message(photo: Path) -> None:
    assert user_content(text("hi")) == [{"type": "text", "text": "hi"}]
    assert user_content(photo)[0]["type"] == "image_url"
    assert user_content(png_bytes())[0]["type"] == "image_url"
    assert user_content("plain text") == "plain text"


def test_hand_written_parts_are_repaired_to_the_spec_shape() -> None:
    parts = user_content(
        [{"text": "typeless"}, {"type": "image_url", "image_url": "https://example.test/a.png"}]
    )
    assert parts == [
        {"type": "text", "text": "typeless"},
        {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}},
    ]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ([], "empty"),
        (["  "], "empty"),
        (["hi", 3], "message part 1 is int"),
        (["hi", {"type": "input_audio"}], "part 1 is a part of type 'input_audio'"),
        (42, "not int"),
        ([b"not an image"], "not a PNG"),
    ],
)
def test_content_that_is_neither_text_nor_image_is_a_clear_user_error(
    content: Any, needle: str
) -> None:
    with pytest.raises(UserError, match=needle):
        user_content(content)


def test_an_agent_refuses_a_bad_part_before_any_request(sim: Any) -> None:
    agent = agent_on(sim)
    with pytest.raises(UserError, match="message part 1"):
        agent.stream(["hi", object()])
    assert chat_bodies(sim) == []


# -- through the agent, checked with the spec model ----------------------------------


async def test_send_puts_text_and_image_parts_on_the_wire_and_the_model_sees_the_image(
    sim: Any, photo: Path
) -> None:
    agent = agent_on(sim)
    reply = await agent.send(["What is in this picture?", image(photo)])
    assert "You sent 1 image (JPEG, 64x48)." in reply
    assert "What is in this picture?" in reply
    parts = spec_user_parts(chat_bodies(sim)[-1])
    assert parts[0] == {"type": "text", "text": "What is in this picture?"}
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


async def test_run_without_streaming_sends_spec_valid_parts(sim: Any) -> None:
    agent = agent_on(sim)
    result = await agent.run(["Describe these.", png_bytes(), png_bytes(32, 32)], stream=False)
    assert "You sent 2 images (PNG, 64x48; PNG, 32x32)." in result.text
    assert [p["type"] for p in spec_user_parts(chat_bodies(sim)[-1])] == [
        "text",
        "image_url",
        "image_url",
    ]


async def test_stream_sends_spec_valid_parts_and_the_user_event_carries_them(
    sim: Any, photo: Path
) -> None:
    agent = agent_on(sim)
    events = [event async for event in agent.stream(["Look:", photo])]
    user_event = events[0]
    assert isinstance(user_event, MessageUserEvent)
    assert user_event.content[0] == {"type": "text", "text": "Look:"}
    ends = [e for e in events if isinstance(e, StreamEndEvent)]
    assert "You sent 1 image (JPEG, 64x48)." in ends[-1].text
    parts = spec_user_parts(chat_bodies(sim)[-1])
    assert parts[0] == {"type": "text", "text": "Look:"}


def test_run_sync_sends_spec_valid_parts(sim: Any, photo: Path) -> None:
    agent = Agent(gateway=gateway_for(sim), tools=[])
    try:
        reply = agent.run_sync(["What is this?", photo]).output
    finally:
        agent.close_sync()
    assert "You sent 1 image (JPEG, 64x48)." in reply
    spec_user_parts(chat_bodies(sim)[-1])


async def test_get_messages_returns_only_spec_valid_messages(sim: Any, photo: Path) -> None:
    agent = agent_on(sim, instructions="Be brief.")
    await agent.send(["What is in this picture?", image(photo)])
    await agent.send("And now?")
    messages = agent.get_messages()
    for message in messages:
        ChatMessage.model_validate(message)
    assert messages[1]["content"][0] == {"type": "text", "text": "What is in this picture?"}
    # the second request resent the first turn in spec shape too
    spec_user_parts(chat_bodies(sim)[-2])
    ChatCompletionRequest.model_validate(chat_bodies(sim)[-1])


async def test_a_history_in_the_old_shape_is_repaired_before_it_is_sent(sim: Any) -> None:
    old = [
        {"role": "user", "content": ["What is in this picture?", {"text": "typeless"}]},
        {"role": "assistant", "content": "A cat."},
    ]
    agent = agent_on(sim, history=old)
    await agent.send("Thanks")
    body = chat_bodies(sim)[-1]
    ChatCompletionRequest.model_validate(body)
    first_user = next(m for m in body["messages"] if m["role"] == "user")
    assert first_user["content"] == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "text", "text": "typeless"},
    ]
    assert old[0]["content"][0] == "What is in this picture?"  # the caller's list is untouched


def test_stored_rows_in_the_old_shape_load_in_the_spec_shape(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        session = store.sessions.create_session(name="old")
        store.sessions.append_messages(
            session.id,
            [
                {"role": "user", "content": ["hello", "world"]},
                {"role": "assistant", "content": "hi"},
            ],
        )
        loaded = store.sessions.load_messages(session.id)
    assert loaded[0]["content"] == [
        {"type": "text", "text": "hello"},
        {"type": "text", "text": "world"},
    ]
    for message in loaded:
        ChatMessage.model_validate(message)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.from_regex(IMAGE_URL_PATTERN, fullmatch=True))
def test_every_image_url_a_front_end_accepts_is_one_the_spec_accepts(url: str) -> None:
    part = user_content(["look", url if url.startswith("data:") else image(url)])[1]
    ChatMessage.model_validate({"role": "user", "content": [part]})


@pytest.mark.parametrize("bad", ["/etc/passwd", "photo.jpg", "https://(x", "http://a b", "ftp://x"])
def test_paths_and_broken_urls_are_not_image_urls(bad: str) -> None:
    assert re.match(IMAGE_URL_PATTERN, bad) is None

"""The MCP ``chat`` tool with images, over streamable HTTP, checked with AllToken's model."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from alltoken.generated.chat import ChatCompletionRequest
from mcp.client.client import Client
from PIL import Image

from alltoken_agent import Gateway
from tests.mcp.expectations import text_of
from tests.mcp.helpers import RunningServer, serve_in_thread


@pytest.fixture
def offline_server() -> Iterator[RunningServer]:
    with serve_in_thread(Gateway.offline) as running:
        yield running


def chat_bodies(running: RunningServer) -> list[dict[str, Any]]:
    assert running.gateway is not None and running.gateway.offline_simulator is not None
    requests = running.gateway.offline_simulator.state.requests
    return [r.json for r in requests if r.path.endswith("/chat/completions")]


def png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "navy").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.slow
async def test_chat_sends_the_prompt_and_images_as_spec_valid_parts(
    offline_server: RunningServer,
) -> None:
    async with Client(offline_server.url) as client:
        result = await client.call_tool(
            "chat",
            {
                "prompt": "What is in this picture?",
                "images": [png_data_url(), "https://example.test/b.png"],
                "session": "pics",
            },
        )
    assert not result.is_error, text_of(result)
    assert "You sent 2 images (PNG, 20x10; a URL the offline simulator does not fetch)." in (
        text_of(result)
    )
    request = ChatCompletionRequest.model_validate(chat_bodies(offline_server)[-1])
    parts = request.messages[-1].content
    assert isinstance(parts, list)
    assert [p.type.value for p in parts] == ["text", "image_url", "image_url"]


async def test_a_path_is_not_an_image_the_server_reads(offline_server: RunningServer) -> None:
    async with Client(offline_server.url) as client:
        result = await client.call_tool("chat", {"prompt": "Look", "images": ["/etc/passwd"]})
    assert result.is_error
    assert chat_bodies(offline_server) == []

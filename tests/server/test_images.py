"""A message with images through the server, checked on the wire with AllToken's model."""

from __future__ import annotations

import base64
import io
from typing import Any

from alltoken.generated.chat import ChatCompletionRequest
from PIL import Image

from tests.server.conftest import ServerThread, create_session


def png_data_url(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def last_chat_body(sim: Any) -> dict[str, Any]:
    bodies = [r.json for r in sim.state.requests if r.path.endswith("/chat/completions")]
    return bodies[-1]


def test_text_and_images_reach_the_model_as_spec_valid_parts(
    server: ServerThread, sim: Any
) -> None:
    url = png_data_url(40, 30)
    with server.client() as client:
        session_id = create_session(client, tools=[])
        response = client.post(
            f"/v1/sessions/{session_id}/messages",
            json={"content": "What is in this picture?", "images": [url]},
        )
        detail = client.get(f"/v1/sessions/{session_id}").json()
    assert response.status_code == 200, response.text
    assert "You sent 1 image (PNG, 40x30)." in response.json()["text"]
    request = ChatCompletionRequest.model_validate(last_chat_body(sim))
    parts = request.messages[-1].content
    assert isinstance(parts, list)
    assert [p.type.value for p in parts] == ["text", "image_url"]
    assert parts[0].text == "What is in this picture?"
    assert detail["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": url}}


def test_an_image_that_is_not_a_url_is_refused_before_the_gateway(
    server: ServerThread, sim: Any
) -> None:
    with server.client() as client:
        session_id = create_session(client, tools=[])
        before = len(sim.state.requests)
        response = client.post(
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Look", "images": ["/etc/passwd"]},
        )
    assert response.status_code == 422
    assert len(sim.state.requests) == before  # no file on the server was read or sent

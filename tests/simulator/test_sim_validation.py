"""The simulator checks requests against AllToken's request models and reads images.

Bodies go over loopback HTTP with httpx, so what is checked is the wire, not our client.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent.simulator.validation import REJECTIONS
from tests.simulator.helpers import chat
from tests.simulator.media_helpers import png_bytes, presign_body, video_body

ROOT = Path(__file__).resolve().parents[2]


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def user(*parts: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


def reply_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


@pytest.mark.invalid_requests_expected
def test_a_bare_string_in_a_content_list_is_400_naming_the_part(client: httpx.Client) -> None:
    """The README's old vision call, as it went on the wire."""
    image = {"type": "image_url", "image_url": {"url": data_url(png_bytes())}}
    mark = REJECTIONS.mark()
    response = client.post(
        "/chat/completions", json=chat(messages=user("What is in this picture?", image))
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages[0].content[0]"
    assert error["request_id"] == response.headers["x-gateway-request-id"]
    assert "messages[0].content[0]" in error["message"]
    assert [r.param for r in REJECTIONS.since(mark)] == ["messages[0].content[0]"]


@pytest.mark.invalid_requests_expected
@pytest.mark.parametrize(
    ("body", "param"),
    [
        (chat(messages=user({"type": "audio", "audio": "x"})), "messages[0].content[0].type"),
        (
            chat(messages=user({"type": "image_url", "image_url": {"url": "not a url"}})),
            "messages[0].content[0].image_url.url",
        ),
        (chat(messages=user({"type": "image_url", "image_url": "https://x.test/a.png"})), None),
        (chat(stop=[1]), "stop[0]"),
        (chat(thinking={"type": "sometimes"}), "thinking.type"),
        (chat(n=0), "n"),
    ],
)
def test_spec_violations_are_400_with_the_field_path(
    client: httpx.Client, body: dict[str, Any], param: str | None
) -> None:
    response = client.post("/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    if param is not None:
        assert error["param"] == param
    else:
        assert error["param"].startswith("messages[0].content[0]")


@pytest.mark.invalid_requests_expected
def test_tokenhub_chat_is_checked_with_the_same_message_shapes(th_client: httpx.Client) -> None:
    response = th_client.post("/chat/completions", json=chat(messages=user("hi")))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].content[0]"


def test_extension_and_unknown_fields_pass_as_on_the_gateway(client: httpx.Client) -> None:
    body = chat(
        stream_options={"include_usage": True},
        enable_search=False,
        thinking_budget=100,
        conversation_id=7,
        some_future_field={"x": 1},
    )
    body["messages"][0]["reasoning_content"] = "kept for reasoning families"
    assert client.post("/chat/completions", json=body).status_code == 200


@pytest.mark.invalid_requests_expected
def test_media_requests_are_checked_with_their_models(client: httpx.Client) -> None:
    video = video_body()
    del video["prompt"]
    missing = client.post("/videos/generations", json=video)
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "prompt")
    image = client.post("/images/generations/async", json={"model": "gpt-image-2", "n": 2})
    assert (image.status_code, image.json()["error"]["param"]) == (400, "prompt")
    presign = client.post("/uploads/presign", json=presign_body(png_bytes(), content_length="many"))
    assert (presign.status_code, presign.json()["error"]["param"]) == (400, "content_length")


def test_the_model_sees_an_inline_image(client: httpx.Client) -> None:
    parts = user(
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": data_url(png_bytes(64, 64))}},
    )
    text = reply_text(client.post("/chat/completions", json=chat(messages=parts)))
    assert "You said: What is in this picture?" in text
    assert "You sent 1 image (PNG, 64x64)." in text


def test_the_model_says_what_it_could_not_see(client: httpx.Client) -> None:
    parts = user(
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    )
    text = reply_text(client.post("/chat/completions", json=chat(messages=parts)))
    assert (
        "You sent 2 images (a URL the offline simulator does not fetch; "
        "an inline image the simulator could not decode)." in text
    )


def test_a_text_only_message_mentions_no_image(client: httpx.Client) -> None:
    assert "You sent" not in reply_text(client.post("/chat/completions", json=chat()))


TEST_THAT_SENDS_A_BAD_REQUEST = """
import httpx
from alltoken_agent.simulator import SimulatorServer


def test_sends_a_bare_string_part():
    with SimulatorServer("alltoken") as server:
        body = {"model": "minimax-m2.7", "messages": [{"role": "user", "content": ["hi"]}]}
        headers = {"Authorization": "Bearer sk-test"}
        status = httpx.post(server.base_url + "/chat/completions", json=body, headers=headers)
        assert status.status_code == 400
"""


@pytest.mark.slow
@pytest.mark.parametrize("marked", [False, True])
def test_the_suite_fails_a_test_whose_code_sent_an_invalid_request(
    tmp_path: Path, marked: bool
) -> None:
    """Runs pytest on a throwaway test with this suite's conftest, in a child process."""
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    source = TEST_THAT_SENDS_A_BAD_REQUEST
    if marked:
        source = source.replace(
            "def test_sends",
            "import pytest\n\n@pytest.mark.invalid_requests_expected\ndef test_sends",
        )
    (tmp_path / "test_bad.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
         str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path / "test_bad.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    if marked:
        assert done.returncode == 0, done.stdout
    else:
        assert done.returncode == 1, done.stdout
        assert "the simulator rejected requests as invalid" in done.stdout
        assert "messages[0].content[0]" in done.stdout

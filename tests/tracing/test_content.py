"""OpenAI chat messages in the GenAI conventions' message shape (content capture)."""

from __future__ import annotations

from typing import Any

from alltoken_agent import image, text
from alltoken_agent.tracing._content import input_messages, output_message

PIXEL = "iVBORw0KGgo="


def test_every_role_and_part_kind_maps_to_the_convention() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [text("What is this?"), image(f"data:image/png;base64,{PIXEL}")],
        },
        {"role": "user", "content": [image("https://example.com/cat.jpg")]},
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "Look closer.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"x": 1}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "g", "arguments": "not json"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    assert input_messages(messages) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "What is this?"},
                {"type": "blob", "modality": "image", "mime_type": "image/png", "content": PIXEL},
            ],
        },
        {
            "role": "user",
            "parts": [{"type": "uri", "modality": "image", "uri": "https://example.com/cat.jpg"}],
        },
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "Look closer."},
                {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"x": 1}},
                {"type": "tool_call", "id": "c2", "name": "g", "arguments": "not json"},
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "42"}]},
    ]


def test_a_reply_without_finish_reason_reports_error() -> None:
    assert output_message("", (), None) == {
        "role": "assistant",
        "parts": [],
        "finish_reason": "error",
    }

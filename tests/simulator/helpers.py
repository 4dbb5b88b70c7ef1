"""Raw SSE helpers for the simulator tests (deliberately independent of our client)."""

from __future__ import annotations

import json
from typing import Any

import httpx

USER_HELLO = [{"role": "user", "content": "Hello there, simulator"}]


def chat(model: str = "minimax-m2.7", messages: Any = None, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": messages or USER_HELLO, **extra}


def tool(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "description": f"{name} tool"}
    function["parameters"] = parameters or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def events(text: str) -> list[str]:
    """Split an SSE body into events; assert the blank-line framing on the way."""
    assert text.endswith("\n\n"), "every SSE event must end with a blank line"
    return text[:-2].split("\n\n")


def data_chunks(text: str) -> list[dict[str, Any]]:
    """Parse every `data: {json}` event (not [DONE], not comments)."""
    out = []
    for event in events(text):
        if event.startswith("data: ") and event != "data: [DONE]":
            out.append(json.loads(event[len("data: ") :]))
    return out


def stream(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    response = client.post("/chat/completions", json={**body, "stream": True}, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return response


def assemble_tool_calls(chunks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Assemble streamed tool-call fragments by `index`, as a client must."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for fragment in choice["delta"].get("tool_calls") or []:
                slot = calls.setdefault(fragment["index"], {"arguments": ""})
                if "id" in fragment:
                    assert "id" not in slot, "only the first fragment of a slot carries the id"
                    slot["id"] = fragment["id"]
                    slot["type"] = fragment["type"]
                    slot["name"] = fragment["function"]["name"]
                else:
                    assert "id" in slot, "a slot's first fragment must carry the id"
                    assert set(fragment) == {"index", "function"}
                    assert set(fragment["function"]) == {"arguments"}
                slot["arguments"] += fragment["function"].get("arguments", "")
    return calls


def content_of(chunks: list[dict[str, Any]], key: str = "content") -> str:
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in chunks if c["choices"])

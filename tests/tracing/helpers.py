"""Reading finished spans, and the simulator's own account of what it answered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from tests.gateway.helpers import TEST_KEY


def operation(spans: Sequence[Any], name: str) -> list[Any]:
    """The spans of one GenAI operation (``invoke_agent``, ``chat``, ``execute_tool``)."""
    return [s for s in spans if s.attributes.get("gen_ai.operation.name") == name]


def parent_of(span: Any) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def chat_requests(server: Any) -> list[Any]:
    """The chat requests in the simulator's log, oldest first."""
    return [r for r in server.state.requests if r.path.endswith("/chat/completions")]


async def replayed_cost_comments(server: Any, requests: Sequence[Any]) -> list[dict[str, Any]]:
    """Send each logged streamed request again with plain httpx; return its cost comment.

    The simulator is deterministic, so the comment (tokens and cost) is the one the
    original request got; it is read straight off the wire, not through our client.
    """
    comments = []
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for request in requests:
            response = await client.post("/chat/completions", json=request.json, headers=headers)
            lines = [line[2:] for line in response.text.splitlines() if line.startswith(": ")]
            (comment,) = lines
            comments.append(json.loads(comment))
    return comments


def attribute_text(spans: Sequence[Any]) -> str:
    """Every attribute key and value, and every status description, as one string."""
    out = []
    for span in spans:
        out.append(span.name)
        out.append(span.status.description or "")
        for key, value in span.attributes.items():
            out.append(f"{key}={value}")
        for event in span.events:
            out.extend(f"{k}={v}" for k, v in event.attributes.items())
    return "\n".join(out)

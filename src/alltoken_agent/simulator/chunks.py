"""Turn a scripted `Plan` into tokens, usage, and the wire bodies of both dialects.

Token accounting (deterministic, not a real tokenizer):

* prompt tokens: per message `ceil(chars / 4) + 4`, where chars counts the text content
  plus the JSON of any `tool_calls` (each image part counts 85 tokens); offered `tools`
  add `ceil(len(compact JSON) / 4)`;
* completion tokens: one per emitted fragment, i.e. per reasoning piece, content piece,
  and tool-call fragment (the header fragment of a call and each arguments piece);
  `reasoning_tokens` reports the reasoning pieces separately.

Text is split into word-sized pieces (leading whitespace kept, at most 16 characters);
an arguments string of two or more characters is split into at least two pieces.
Parallel tool calls are interleaved round-robin, so clients must assemble by `index`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from alltoken_agent.simulator._constants import Dialect
from alltoken_agent.simulator.script import Plan, message_text

MAX_PIECE: Final = 16
"""Longest content/reasoning piece in characters (long words are cut)."""

IMAGE_PART_TOKENS: Final = 85
"""Prompt tokens charged per `image_url` content part."""


def split_words(text: str) -> list[str]:
    """Split text into word-sized pieces whose concatenation is exactly `text`."""
    pieces = re.findall(r"\s*\S+", text)
    rest = text[len("".join(pieces)) :]
    if rest:
        if pieces:
            pieces[-1] += rest
        else:
            pieces = [rest]
    out: list[str] = []
    for piece in pieces:
        out.extend(piece[i : i + MAX_PIECE] for i in range(0, len(piece), MAX_PIECE))
    return out


def split_arguments(arguments: str) -> list[str]:
    """Split an arguments string into pieces (at least two when it has two+ chars)."""
    if not arguments:
        return []
    size = max(1, min(12, math.ceil(len(arguments) / 2)))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def count_prompt_tokens(messages: Sequence[Mapping[str, Any]], tools: Any) -> int:
    """Count prompt tokens by the rule in the module docstring."""
    total = 0
    for message in messages:
        chars = len(message_text(message))
        if message.get("tool_calls"):
            chars += len(json.dumps(message["tool_calls"], separators=(",", ":")))
        content = message.get("content")
        images = 0
        if isinstance(content, list):
            images = sum(
                1 for p in content if isinstance(p, Mapping) and p.get("type") == "image_url"
            )
        total += math.ceil(chars / 4) + 4 + IMAGE_PART_TOKENS * images
    if tools:
        total += math.ceil(len(json.dumps(tools, separators=(",", ":"))) / 4)
    return total


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def completion_id(dialect: Dialect, request_id: str) -> str:
    """Return the deterministic `chatcmpl-...` id (uuid-shaped on TokenHub, §2.2)."""
    digest = _hex(f"chatcmpl:{request_id}", 32)
    if dialect == "tokenhub":
        variant = "89ab"[int(digest[16], 16) % 4]
        uuid = (
            f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:]}"
        )
        return f"chatcmpl-{uuid}"
    return f"chatcmpl-{digest[:24]}"


@dataclass(frozen=True)
class ToolCallOut:
    """A tool call as emitted (arguments possibly cut short by `max_tokens`)."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Emission:
    """Everything the model "generates" for one request, after `max_tokens`/`stop`."""

    reasoning: tuple[str, ...]
    """Reasoning pieces."""
    content: tuple[str, ...] | None
    """Content pieces, or None for a tool-calls answer."""
    tool_fragments: tuple[dict[str, Any], ...]
    """Tool-call delta fragments in emission (interleaved) order."""
    tool_calls: tuple[ToolCallOut, ...]
    """Assembled tool calls, by slot."""
    finish_reason: str
    """`stop`, `tool_calls` or `length`."""
    prompt_tokens: int
    """Prompt token count."""

    @property
    def completion_tokens(self) -> int:
        """One token per emitted fragment."""
        return len(self.reasoning) + len(self.content or ()) + len(self.tool_fragments)


def _apply_stop(text: str, stop: Sequence[str]) -> str:
    cuts = [text.find(s) for s in stop if s and s in text]
    return text[: min(cuts)] if cuts else text


def build_emission(
    plan: Plan,
    *,
    prompt_tokens: int,
    request_id: str,
    max_tokens: int | None = None,
    stop: Sequence[str] = (),
) -> Emission:
    """Cut the plan into fragments and apply `max_tokens` (finish `length`) and `stop`.

    Args:
        plan: The scripted answer.
        prompt_tokens: Prompt token count.
        request_id: Seed for the deterministic tool-call ids.
        max_tokens: Completion token budget, or None for unlimited.
        stop: Stop strings; the text is cut before the first match.

    Returns:
        The emission.
    """
    budget = max_tokens if max_tokens is not None else math.inf
    reasoning = split_words(plan.reasoning)
    truncated = len(reasoning) > budget
    reasoning = reasoning[: int(min(budget, len(reasoning)))]
    budget -= len(reasoning)
    content: list[str] | None = None
    fragments: list[dict[str, Any]] = []
    calls: list[ToolCallOut] = []
    if plan.text is not None:
        pieces = split_words(_apply_stop(plan.text, stop))
        truncated = truncated or len(pieces) > budget
        content = pieces[: int(min(budget, len(pieces)))]
    else:
        queues: list[list[dict[str, Any]]] = []
        for index, call in enumerate(plan.calls):
            call_id = f"call_{_hex(f'{request_id}:{index}', 24)}"
            header = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            rest = [
                {"index": index, "function": {"arguments": piece}}
                for piece in split_arguments(call.arguments)
            ]
            queues.append([header, *rest])
        while any(queues):  # round-robin interleave of the slots
            for queue in queues:
                if queue:
                    fragments.append(queue.pop(0))
        truncated = truncated or len(fragments) > budget
        fragments = fragments[: int(min(budget, len(fragments)))]
        for fragment in fragments:
            if "id" in fragment:
                function = fragment["function"]
                calls.append(ToolCallOut(fragment["index"], fragment["id"], function["name"], ""))
            else:
                slot = calls[fragment["index"]]
                args = slot.arguments + fragment["function"]["arguments"]
                calls[fragment["index"]] = ToolCallOut(slot.index, slot.id, slot.name, args)
    finish = "length" if truncated else ("tool_calls" if plan.text is None else "stop")
    return Emission(
        reasoning=tuple(reasoning),
        content=None if content is None else tuple(content),
        tool_fragments=tuple(fragments),
        tool_calls=tuple(calls),
        finish_reason=finish,
        prompt_tokens=prompt_tokens,
    )


def usage_body(emission: Emission, dialect: Dialect) -> dict[str, Any]:
    """Return the `usage` object (§1.4 on AllToken, the §2.2 sample on TokenHub)."""
    prompt, completion = emission.prompt_tokens, emission.completion_tokens
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if dialect == "alltoken":
        # Zero-valued extras as in the AllToken agent skill's live capture (§1.4), with the
        # cache write count the spec's PromptTokensDetails names: the simulator caches nothing.
        usage["prompt_tokens_details"] = {
            "cached_tokens": 0,
            "cache_creation_input_tokens": 0,
            "audio_tokens": 0,
        }
        usage["completion_tokens_details"] = {
            "reasoning_tokens": len(emission.reasoning),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": 0}
        if emission.reasoning:  # invented: TokenHub documents no reasoning usage
            usage["completion_tokens_details"] = {"reasoning_tokens": len(emission.reasoning)}
    return usage


def completion_body(
    emission: Emission, *, dialect: Dialect, model: str, request_id: str, created: int
) -> dict[str, Any]:
    """Return the non-streaming response body (§1.4 AllToken, §2.2 TokenHub)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if emission.content is None else "".join(emission.content),
    }
    if emission.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in emission.tool_calls
        ]
    if emission.reasoning:
        # (I) §1.4: non-stream `message.reasoning_content` is not in the schema.
        message["reasoning_content"] = "".join(emission.reasoning)
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": emission.finish_reason,
    }
    body: dict[str, Any] = {
        "id": completion_id(dialect, request_id),
        "object": "chat.completion",
        "created": created,
        "model": model,
    }
    if dialect == "tokenhub":
        body["system_fingerprint"] = None
        choice["logprobs"] = None
    body["choices"] = [choice]
    body["usage"] = usage_body(emission, dialect)
    if dialect == "alltoken":
        body["service_tier"] = "default"
        body["x-gateway-request-id"] = request_id
    return body

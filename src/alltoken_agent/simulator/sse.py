"""Render an `Emission` as an SSE stream (§1.5 AllToken, §2.2 TokenHub), with faults.

Line order: role chunk (`{role: "assistant", content: ""}`), reasoning deltas, content
or tool-call deltas, the finish chunk (`delta: {}` with `finish_reason`), the usage
chunk (`choices: []`) when `stream_options.include_usage` is true, `data: [DONE]`, and on
AllToken the cost comment `: {...}` after `[DONE]`. Every event ends with a blank line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any, Final

from starlette.types import Scope

from alltoken_agent.simulator._constants import Dialect
from alltoken_agent.simulator.catalog import CatalogModel
from alltoken_agent.simulator.chunks import Emission, completion_id, usage_body
from alltoken_agent.simulator.faults import (
    ERROR_CHUNK,
    RAW_MARKER,
    Fault,
    SimulatedDisconnectError,
    drop_connection,
    mark_usage,
    splice_raw,
)
from alltoken_agent.simulator.hostile import hostile_stream

DONE: Final = b"data: [DONE]\n\n"
MALFORMED: Final = b'data: {"choices": [\n\n'
"""The invalid-JSON event of the `malformed:N` fault."""

_TEN_PLACES: Final = Decimal("1E-10")


def _event(payload: dict[str, Any]) -> bytes:
    return (
        b"data: "
        + json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        + b"\n\n"
    )


def _tokenhub_delta(delta: dict[str, Any]) -> dict[str, Any]:
    # §2.2: explicit nulls for function_call / refusal / tool_calls (DashScope style).
    # (I) `role` is carried on every delta; whether later deltas repeat it is unknown.
    out: dict[str, Any] = {
        "content": delta.get("content"),
        "function_call": None,
        "refusal": None,
        "role": "assistant",
        "tool_calls": delta.get("tool_calls"),
    }
    if "reasoning_content" in delta:  # invented: TokenHub documents no reasoning deltas
        out["reasoning_content"] = delta["reasoning_content"]
    return out


def cost_comment(
    model: CatalogModel,
    prompt_tokens: int,
    completion_tokens: int,
    raw_cost: str | None = None,
) -> bytes:
    """Return the AllToken post-`[DONE]` cost comment (§1.5, §3 row 2).

    Prices are USD per 1,000 tokens; cost = (prompt * input + completion * output) / 1000,
    computed with `Decimal` and rounded half-even to 10 places; all three are strings with
    exactly 10 fractional digits. `raw_cost` (the `bad_cost` fault) replaces the cost
    with that text, verbatim.
    """
    input_price = model.input_price or Decimal(0)
    output_price = model.output_price or Decimal(0)
    cost = (prompt_tokens * input_price + completion_tokens * output_price) / 1000
    payload = {
        "cost": f"{cost.quantize(_TEN_PLACES):f}",
        "input_price": f"{input_price.quantize(_TEN_PLACES):f}",
        "output_price": f"{output_price.quantize(_TEN_PLACES):f}",
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
    }
    if raw_cost is not None:
        payload["cost"] = RAW_MARKER
        return b": " + splice_raw(payload, raw_cost).encode() + b"\n\n"
    return b": " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def stream_events(
    emission: Emission,
    *,
    dialect: Dialect,
    model: str,
    catalog_model: CatalogModel,
    request_id: str,
    created: int,
    include_usage: bool,
    fault: Fault | None = None,
) -> tuple[list[bytes], list[bytes]]:
    """Return (data chunk events, trailing events) of a stream.

    The trailing events are `[DONE]` and, on AllToken, the cost comment; faults count
    only the data chunks. `no_usage_done`, `bad_usage` and `bad_cost` faults are applied
    here, as they change what the events hold.
    """
    kind = fault.kind if fault is not None else None
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"reasoning_content": piece} for piece in emission.reasoning]
    deltas += [{"content": piece} for piece in emission.content or ()]
    deltas += [{"tool_calls": [fragment]} for fragment in emission.tool_fragments]
    base: dict[str, Any] = {
        "id": completion_id(dialect, request_id),
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }
    if dialect == "tokenhub":
        base["system_fingerprint"] = None
    else:
        # §1.4 documents `service_tier` on the non-stream body; on every chunk (as OpenAI
        # streams it) is invented, so a client reads it from either shape.
        base["service_tier"] = "default"

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        if dialect == "tokenhub":
            choice["logprobs"] = None
            if delta:
                choice["delta"] = _tokenhub_delta(delta)
        return _event({**base, "choices": [choice], "usage": None})

    events = [chunk(delta, None) for delta in deltas]
    events.append(chunk({}, emission.finish_reason))
    if include_usage and kind != "no_usage_done":
        # §3 row 1: a separate final chunk with `choices: []`. On TokenHub
        # stream_options is undocumented; honouring it there is invented.
        usage = usage_body(emission, dialect)
        if kind == "bad_usage" and fault is not None and fault.field and fault.value:
            mark_usage(usage, fault.field)
            raw = splice_raw({**base, "choices": [], "usage": usage}, fault.value)
            events.append(b"data: " + raw.encode() + b"\n\n")
        else:
            events.append(_event({**base, "choices": [], "usage": usage}))
    trailing = [DONE]
    if dialect == "alltoken":
        raw_cost = fault.value if kind == "bad_cost" and fault is not None else None
        trailing.append(
            cost_comment(
                catalog_model, emission.prompt_tokens, emission.completion_tokens, raw_cost
            )
        )
    return events, trailing


async def stream_body(
    events: Sequence[bytes],
    trailing: Sequence[bytes],
    *,
    fault: Fault | None,
    chunk_delay: float,
    scope: Scope,
) -> AsyncIterator[bytes]:
    """Yield the stream events, applying a body fault (see `faults.py`).

    A fault "after N chunks" acts before data chunk N+1; when N is at least the number
    of data chunks it acts after the last one, before `[DONE]`.
    """
    active = fault if fault is not None and fault.acts_on_body else None
    if active is not None and active.kind in ("ping_forever", "trickle", "long_line"):
        async for piece in hostile_stream(active, events):
            yield piece
        if active.kind != "long_line":
            return  # these never finish properly (see hostile.py)
        events = ()  # long_line sent them after its line; the trailing events follow
        active = None
    trigger = min(active.after_chunks, len(events)) if active else -1
    # Chunks leave on a schedule, one every `chunk_delay` after the first, as a model's
    # tokens come from a machine of their own: a sleep after each send drifted by this
    # loop's own lag under load (40 chunks of 50 ms took ~2.4 s instead of ~2 s while
    # another process shared the cores), which benchmarks then counted as the client's.
    loop = asyncio.get_running_loop()
    due = loop.time()
    for position in range(len(events) + 1):
        if position == trigger and active is not None:
            if active.kind in ("disconnect", "accept_then_drop"):
                if not await drop_connection(scope):
                    raise SimulatedDisconnectError("simulated disconnect (fault)")
                return
            if active.kind == "eof":
                return
            if active.kind == "error_chunk":
                yield ERROR_CHUNK
                return
            if active.kind == "malformed":
                yield MALFORMED
            if active.kind == "stall":
                await asyncio.sleep(active.seconds)
                due = loop.time()  # the schedule starts again after the stall
        if position == len(events):
            break
        if position and chunk_delay:
            due += chunk_delay
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        yield events[position]
    if active is not None and active.kind in ("no_done", "no_usage_done"):
        return
    for event in trailing:
        yield event

"""Faults of a gateway that answers with the wrong thing, or never finishes.

The vocabulary is parsed in `faults.py` (table in docs/testing.md); this module builds the bytes:

* `html200`, `json200`, `empty200`: status 200 with an HTML page, a JSON completion
  body, or an empty body, whatever was asked for (a captive portal, a proxy that
  ignores `stream: true`, a broken one).
* `redirect[:URL]`: a 307 to URL (default `REDIRECT_TARGET`, another host).
* `ping_forever`: the stream's headers, then `: ping` comments every
  `PING_INTERVAL` seconds and nothing else, for at most `MAX_FAULT_SECONDS`.
* `trickle:S`: the role chunk, then one word every S seconds, never finishing, for
  at most `MAX_FAULT_SECONDS`.
* `long_line:MB`: a content chunk whose one `data:` line is MB megabytes long (sent
  in 64 KiB pieces, never held whole), then the normal rest of the stream.

A non-streaming request under `ping_forever` or `trickle:S` gets status 200 and then
a space (JSON allows leading whitespace) every interval, never the body.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Final

from starlette.responses import JSONResponse, Response, StreamingResponse

if TYPE_CHECKING:
    from alltoken_agent.simulator.faults import Fault

PING_INTERVAL: Final = 0.05
"""Seconds between keep-alive comments of `ping_forever`: far below any read timeout."""

REDIRECT_TARGET: Final = "http://elsewhere.invalid/v1/chat/completions"
"""Where a bare `redirect` points: another host (`.invalid` never resolves)."""

MAX_LONG_LINE_MB: Final = 1024
"""Upper bound of `long_line:MB`."""

_PIECE: Final = 64 * 1024
_WORDS: Final = ("still", "going", "slowly", "word", "by", "word")

HTML_PAGE: Final = (
    b"<!DOCTYPE html><html><head><title>Sign in to continue</title></head>"
    b"<body><p>This network requires you to sign in (simulated captive portal).</p>"
    b"</body></html>"
)


def wrong_reply(fault: Fault, *, request_id: str) -> Response | None:
    """The response of `html200`, `json200`, `empty200` and `redirect`, else None."""
    if fault.kind == "html200":
        return Response(HTML_PAGE, status_code=200, media_type="text/html")
    if fault.kind == "json200":
        # A proxy that ignores `stream: true` and answers the whole completion at once.
        return JSONResponse(
            {
                "id": f"chatcmpl-{request_id}",
                "object": "chat.completion",
                "model": "simulated",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "A whole reply (simulated)."},
                        "finish_reason": "stop",
                    }
                ],
            }
        )
    if fault.kind == "empty200":
        return Response(b"", status_code=200, media_type="text/event-stream")
    if fault.kind == "redirect":
        return Response(b"", status_code=307, headers={"Location": fault.value or REDIRECT_TARGET})
    return None


def endless_plain(fault: Fault) -> Response | None:
    """A non-streaming body that never comes (`ping_forever`, `trickle:S`), else None."""
    if fault.kind not in ("ping_forever", "trickle"):
        return None
    interval = fault.seconds if fault.kind == "trickle" else PING_INTERVAL

    async def spaces() -> AsyncIterator[bytes]:
        end = time.monotonic() + _max_seconds()
        while time.monotonic() < end:
            yield b" "
            await asyncio.sleep(interval)

    return StreamingResponse(spaces(), media_type="application/json")


async def hostile_stream(fault: Fault, events: Sequence[bytes]) -> AsyncIterator[bytes]:
    """The body of `ping_forever`, `trickle:S` or `long_line:MB` (see the module docstring).

    `events` are the normal data events; `long_line` sends them after its line (the
    caller then sends the trailing events), the others never end properly.
    """
    end = time.monotonic() + _max_seconds()
    if fault.kind == "ping_forever":
        while time.monotonic() < end:
            yield b": ping\n\n"
            await asyncio.sleep(PING_INTERVAL)
        return
    base = json.loads(events[0][len(b"data: ") :]) if events else {}
    if fault.kind == "trickle":
        if events:
            yield events[0]
        count = 0
        while time.monotonic() < end:
            await asyncio.sleep(fault.seconds)
            word = _WORDS[count % len(_WORDS)] + " "
            count += 1
            yield _content_chunk(base, word)
        return
    if fault.kind == "long_line":
        if events:
            yield events[0]
        head, _, tail = _content_chunk(base, "\x00").partition(b"\\u0000")
        yield head
        piece = b"a" * _PIECE
        remaining = fault.size_mb * 1024 * 1024
        while remaining > 0:
            yield piece[:remaining] if remaining < _PIECE else piece
            remaining -= _PIECE
        yield tail
        for event in events[1:]:
            yield event


def _max_seconds() -> float:
    # faults.py imports this module, so its bound is looked up when a fault runs.
    from alltoken_agent.simulator.faults import MAX_FAULT_SECONDS

    return MAX_FAULT_SECONDS


def _content_chunk(base: dict[str, object], content: str) -> bytes:
    chunk = {
        **base,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

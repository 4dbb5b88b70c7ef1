"""Fault vocabulary: parse `X-Sim-Fault` specs and build the faulty responses.

A fault applies to one `/v1` request: the `X-Sim-Fault` header wins, otherwise the
next queued fault (see `control.SimulatorState.enqueue_faults`) is consumed. The
vocabulary, one row per fault (and the media job faults of `job_faults.py`), is the
table in docs/testing.md "Simulator faults"; `tests/simulator/test_fault_docs.py`
checks that it and `parse_fault` agree. Stream bodies are built in `sse.py`, wrong and
never-ending replies in `hostile.py`, the echoed key in `echo.py`, the reply text
spelling lone surrogates (`lone_surrogate`) in `surrogate.py`.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from typing import Final, Literal

from starlette.responses import Response

from alltoken_agent.simulator.drop import DropConnection as DropConnection
from alltoken_agent.simulator.drop import SimulatedDisconnectError as SimulatedDisconnectError
from alltoken_agent.simulator.drop import drop_connection as drop_connection
from alltoken_agent.simulator.envelope import error_body, error_response
from alltoken_agent.simulator.hostile import MAX_LONG_LINE_MB, endless_plain, wrong_reply

FaultKind = Literal[
    "status",
    "html502",
    "leak_key",
    "echo_key",
    "error_chunk",
    "disconnect",
    "malformed",
    "no_done",
    "no_usage_done",
    "bad_cost",
    "bad_usage",
    "eof",
    "slow",
    "stall",
    "accept_then_drop",
    "html200",
    "json200",
    "empty200",
    "redirect",
    "ping_forever",
    "trickle",
    "long_line",
    "lone_surrogate",
]
STREAM_KINDS: Final = frozenset(
    {
        "disconnect",
        "malformed",
        "error_chunk",
        "no_done",
        "no_usage_done",
        "bad_cost",
        "bad_usage",
        "eof",
        "stall",
        "accept_then_drop",
        "ping_forever",
        "trickle",
        "long_line",
    }
)
"""Fault kinds that act on the response body rather than replacing the response."""

MAX_RAW_VALUE: Final = 200
"""Longest URL of `redirect:URL`."""

MAX_BAD_VALUE: Final = 8000
"""Longest VALUE of `bad_cost`/`bad_usage` (room for integers too long for Python's
`int()`, which refuses more than 4300 digits); it is spliced into JSON as written."""

RAW_MARKER: Final = "@@sim-raw-value@@"
"""Placeholder a builder puts where the verbatim VALUE goes (see `splice_raw`)."""

_FIELD = re.compile(r"[a-z_]{1,64}(\.[a-z_]{1,64})?")

MAX_FAULT_SECONDS: Final = 300.0
"""Upper bound for `slow`/`stall` so a typo cannot hang a test run for hours."""

# HTTP status -> (code slug, message). Slugs marked in envelope.ERROR_TYPES.
STATUS_FAULTS: Final[dict[int, tuple[str, str]]] = {
    400: ("invalid_request", "The request was rejected (simulated fault). Fix the request."),
    401: ("invalid_api_key", "The API key is invalid (simulated fault). Use a valid key."),
    # invented slug: 402 has none documented (docs/wire-format.md §1.10, §3 row 16).
    402: ("insufficient_balance", "Insufficient balance (simulated fault). Top up the account."),
    # invented slug: 403 has none documented.
    403: ("forbidden", "This key may not use this resource (simulated fault)."),
    404: ("not_found", "Not found (simulated fault)."),
    # invented slug: 429 has none documented.
    429: ("rate_limit_exceeded", "Rate limit exceeded (simulated fault). Retry after a pause."),
    # invented slug: 500 has none documented.
    500: ("internal_error", "Internal gateway error (simulated fault). Retry with backoff."),
    502: ("upstream_error", "The upstream provider failed (simulated fault). Retry later."),
    503: ("all_providers_failed", "All providers failed (simulated fault). Retry or switch."),
}


_BARE_KINDS: Final[dict[str, FaultKind]] = {
    "html502": "html502",
    "leak_key": "leak_key",
    "echo_key": "echo_key",
    "no_done": "no_done",
    "no_usage_done": "no_usage_done",
    "accept_then_drop": "accept_then_drop",
    "html200": "html200",
    "json200": "json200",
    "empty200": "empty200",
    "redirect": "redirect",
    "ping_forever": "ping_forever",
    "lone_surrogate": "lone_surrogate",
}
_COUNTED_KINDS: Final[dict[str, FaultKind]] = {
    "disconnect": "disconnect",
    "malformed": "malformed",
    "eof": "eof",
    "error_chunk": "error_chunk",
}


class FaultSpecError(ValueError):
    """A fault spec is not in the vocabulary of this module."""


@dataclass(frozen=True)
class Fault:
    """One parsed fault spec."""

    spec: str
    """Normalised spec text, as recorded in the request log."""
    kind: FaultKind
    """What the fault does (see the module docstring)."""
    status: int | None = None
    """HTTP status for `status` faults."""
    retry_after: int | None = None
    """`Retry-After` seconds for 429 (and 5xx when given); None sends no header."""
    after_chunks: int = 0
    """N of `disconnect`/`malformed`/`eof`/`stall`: data chunks sent before acting."""
    seconds: float = 0.0
    """S of `slow`/`stall`."""
    field: str | None = None
    """FIELD of `bad_usage` (dotted for one nested level)."""
    value: str | None = None
    """VALUE of `bad_cost`/`bad_usage`, verbatim (case kept); URL of `redirect:URL`."""
    size_mb: int = 0
    """MB of `long_line`."""

    @property
    def acts_on_body(self) -> bool:
        """Whether the fault changes the body of an otherwise normal response."""
        return self.kind in STREAM_KINDS


def _count(text: str, spec: str, what: str = "a chunk count") -> int:
    if not (text.isascii() and text.isdigit()):
        raise FaultSpecError(f"fault {spec!r}: {text!r} is not {what} (an integer >= 0)")
    return int(text)


def _seconds(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_FAULT_SECONDS):
        raise FaultSpecError(
            f"fault {spec!r}: {text!r} is not a duration in seconds (0 to {MAX_FAULT_SECONDS:g})"
        )
    return value


def parse_fault(spec: str) -> Fault:
    """Parse one fault spec.

    Args:
        spec: Text such as `429:2`, `disconnect:3` or `stall:2:0.5`.

    Returns:
        The parsed fault.

    Raises:
        FaultSpecError: The spec is not in the vocabulary.
    """
    norm = spec.strip().lower()
    head, sep, rest = norm.partition(":")
    args = rest.split(":") if sep else []
    if norm in _BARE_KINDS:
        return Fault(norm, _BARE_KINDS[norm])
    if head == "redirect" and sep:
        return _redirect(spec.strip().partition(":")[2].strip(), spec)
    if head in ("bad_cost", "bad_usage") and sep:
        return _bad_value(head, spec.strip().partition(":")[2], spec)
    if head.isascii() and head.isdigit() and int(head) in STATUS_FAULTS:
        status = int(head)
        if status == 429 and len(args) <= 1:
            if not args:
                return Fault(norm, "status", status=429, retry_after=1)
            if args[0] == "none":
                return Fault(norm, "status", status=429, retry_after=None)
            seconds = _count(args[0], spec, "a Retry-After in seconds")
            return Fault(norm, "status", status=429, retry_after=seconds)
        if not args:
            return Fault(norm, "status", status=status)
        if status >= 500 and len(args) == 1:
            seconds = _count(args[0], spec, "a Retry-After in seconds")
            return Fault(norm, "status", status=status, retry_after=seconds)
    elif head in _COUNTED_KINDS and len(args) == 1:
        return Fault(norm, _COUNTED_KINDS[head], after_chunks=_count(args[0], spec))
    elif head == "slow" and len(args) == 1:
        return Fault(norm, "slow", seconds=_seconds(args[0], spec))
    elif head == "trickle" and len(args) == 1:
        pause = _seconds(args[0], spec)
        if pause < 0.01:
            raise FaultSpecError(f"fault {spec!r}: a trickle needs at least 0.01 s per word")
        return Fault(norm, "trickle", seconds=pause)
    elif head == "long_line" and len(args) == 1:
        size = _count(args[0], spec, "a size in MB")
        if not 1 <= size <= MAX_LONG_LINE_MB:
            raise FaultSpecError(f"fault {spec!r}: MB must be 1 to {MAX_LONG_LINE_MB}")
        return Fault(norm, "long_line", size_mb=size)
    elif head == "stall" and len(args) == 2:
        return Fault(
            norm, "stall", after_chunks=_count(args[0], spec), seconds=_seconds(args[1], spec)
        )
    raise FaultSpecError(
        f"unknown fault spec {spec!r}; known: 429[:N|:none], 400, 401, 402, 403, 404, "
        "500[:N], 502[:N], 503[:N], html502, leak_key, echo_key, error_chunk:N, "
        "disconnect:N, malformed:N, no_done, "
        "no_usage_done, bad_cost:VALUE, bad_usage:FIELD=VALUE, eof:N, slow:S, stall:N:S, "
        "accept_then_drop, html200, json200, empty200, redirect[:URL], ping_forever, "
        "trickle:S, long_line:MB, lone_surrogate"
    )


def _redirect(url: str, spec: str) -> Fault:
    """Parse `redirect:URL` (the URL keeps its case; it goes into a header as written)."""
    if not url or len(url) > MAX_RAW_VALUE or not (url.isascii() and url.isprintable()):
        raise FaultSpecError(
            f"fault {spec!r}: URL must be 1 to {MAX_RAW_VALUE} printable ASCII characters"
        )
    return Fault(f"redirect:{url}", "redirect", value=url)


def _bad_value(head: str, rest: str, spec: str) -> Fault:
    """Parse the argument of `bad_cost:VALUE` or `bad_usage:FIELD=VALUE`."""
    field: str | None = None
    value = rest
    if head == "bad_usage":
        field, sep, value = rest.partition("=")
        field = field.strip().lower()
        if not sep or not _FIELD.fullmatch(field):
            raise FaultSpecError(
                f"fault {spec!r}: expected bad_usage:FIELD=VALUE with FIELD a usage key "
                "such as prompt_tokens or prompt_tokens_details.cached_tokens"
            )
    value = value.strip()
    # Spliced into an SSE line as written: printable ASCII only, so no line break.
    if not value or len(value) > MAX_BAD_VALUE or not (value.isascii() and value.isprintable()):
        raise FaultSpecError(
            f"fault {spec!r}: VALUE must be 1 to {MAX_BAD_VALUE} printable ASCII characters"
        )
    norm = f"{head}:{field}={value}" if field else f"{head}:{value}"
    return Fault(norm, "bad_usage" if field else "bad_cost", field=field, value=value)


def splice_raw(payload: object, raw: str) -> str:
    """JSON of `payload` with the string `RAW_MARKER` replaced by `raw`, verbatim.

    `json.dumps` cannot write `NaN` as such, or a number too large for a float, or
    broken JSON: splicing text does, which is the point of the `bad_*` faults.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text.replace(json.dumps(RAW_MARKER), raw)


def mark_usage(usage: dict[str, object], field: str) -> None:
    """Put `RAW_MARKER` at `field` of a usage object (creating one nested level)."""
    head, _, tail = field.partition(".")
    if not tail:
        usage[head] = RAW_MARKER
        return
    inner = usage.get(head)
    nested = dict(inner) if isinstance(inner, dict) else {}
    nested[tail] = RAW_MARKER
    usage[head] = nested


def replacement_response(
    fault: Fault, *, request_id: str, bearer_token: str | None
) -> Response | None:
    """Return the response that replaces the normal one, or None if the fault does not.

    Args:
        fault: The fault to apply.
        request_id: Gateway request id of this request.
        bearer_token: The presented bearer token (only `leak_key` echoes it).

    Returns:
        The faulty response for `status`, `html502` and `leak_key` faults, else None.
    """
    if fault.kind == "status" and fault.status is not None:
        code, message = STATUS_FAULTS[fault.status]
        headers: dict[str, str] = {}
        if fault.status == 429:
            headers["x-ratelimit-remaining"] = "0"
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return error_response(fault.status, code, message, request_id=request_id, headers=headers)
    if fault.kind == "html502":
        return Response("<html>Bad Gateway</html>", status_code=502, media_type="text/html")
    if fault.kind in ("html200", "json200", "empty200", "redirect"):
        return wrong_reply(fault, request_id=request_id)
    if fault.kind == "leak_key":
        presented = f"Bearer {bearer_token or ''}"
        return error_response(
            401,
            "invalid_api_key",
            f"Upstream rejected credentials {presented} (simulated hostile upstream).",
            request_id=request_id,
            headers={"x-upstream-authorization": presented},
        )
    return None


ERROR_CHUNK: Final = (
    b"data: "
    + json.dumps(
        error_body(
            "upstream_error",
            "The upstream provider failed mid-stream (simulated fault). Retry later.",
            request_id=None,
        )
    ).encode()
    + b"\n\n"
)
"""The event of the `error_chunk:N` fault."""

TRUNCATED_JSON: Final = b'{"choices": ['
"""Non-stream body of the `malformed`/`eof` faults (invented: no documented equivalent)."""


async def plain_body_fault(fault: Fault | None) -> Response | None:
    """Apply a body fault to a non-streaming response.

    `disconnect` and `accept_then_drop` drop the connection without a response (media
    endpoints apply `accept_then_drop` themselves, after doing the work), `malformed`
    and `eof` send a truncated JSON body with status 200, `stall` delays the whole
    response by S seconds (then returns None so the normal body follows), `ping_forever`
    and `trickle` send a body that never ends (see `hostile.py`); `no_done` has nothing
    to act on.

    Args:
        fault: The request's fault, if any.

    Returns:
        The replacement response, or None to send the normal one.
    """
    if fault is None:
        return None
    if fault.kind in ("disconnect", "accept_then_drop"):
        return DropConnection()
    if fault.kind in ("malformed", "eof"):
        return Response(TRUNCATED_JSON, media_type="application/json")
    if fault.kind == "stall":
        await asyncio.sleep(fault.seconds)
    return endless_plain(fault)

"""Simulator state (fault queue, request log, counters) and the `/_sim` control routes.

The state is shared between uvicorn's thread and a test thread, so every access takes
one lock; readers get copies, never the live records. Media state (tasks, uploads,
durations, media counters) lives in `state.media` (`media_store.MediaState`).

Control routes (unauthenticated, not logged): `POST|GET /_sim/faults`,
`GET /_sim/requests`, `POST /_sim/reset`, `GET|POST /_sim/media`. The simulated bucket
under `/_sim/r2/` is not a control route: its requests are logged (see `r2.py`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alltoken_agent.simulator.envelope import error_body
from alltoken_agent.simulator.faults import Fault, FaultSpecError, parse_fault
from alltoken_agent.simulator.job_faults import parse_job_fault
from alltoken_agent.simulator.media_store import MediaState

_SECRET_HEADERS = frozenset({"x-api-key", "api-key"})
"""Headers other than Authorization that may carry a key; logged as `[redacted]`."""


def request_id_for(serial: int) -> str:
    """Return the deterministic gateway request id for the n-th request.

    Args:
        serial: 1-based request number since the last reset.

    Returns:
        20 lowercase alphanumerics (docs/wire-format.md §1.10, the skill's example).
    """
    return hashlib.sha256(f"alltoken-sim-request:{serial}".encode()).hexdigest()[:20]


@dataclass
class RecordedRequest:
    """One request as the simulator saw it on the wire."""

    method: str
    """HTTP method."""
    path: str
    """URL path, e.g. `/v1/chat/completions`."""
    query: dict[str, str]
    """Query parameters (last value wins)."""
    json: Any
    """Parsed JSON body, or None when the body was empty or not JSON."""
    headers: dict[str, str]
    """Lower-cased request headers, without `authorization` (see `has_auth`)."""
    has_auth: bool
    """Whether a non-empty `Authorization: Bearer <key>` was presented."""
    serial: int
    """1-based number of this request since the last reset (ids derive from it)."""
    request_id: str
    """Gateway request id given to this request."""
    fault: str | None = None
    """Spec of the fault applied to this request, if any."""
    status: int | None = None
    """Response status; None while pending or when the connection was dropped unanswered."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready copy."""
        return dataclasses.asdict(self)


def scrub_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return request headers safe to log: no Authorization value, other keys redacted.

    Args:
        headers: Request headers.

    Returns:
        Lower-cased header dict.
    """
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key == "authorization":
            continue
        out[key] = "[redacted]" if key in _SECRET_HEADERS else value
    return out


class SimulatorState:
    """Mutable simulator state: fault queue, request log and counters (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._counters: Counter[str] = Counter()
        self.media = MediaState()
        """Media tasks, uploads, settings (durations, TTLs) and media counters."""
        self.echo_key = False
        """Echo the bearer token on every request, whatever its fault (`echo.py`)."""

    def enqueue_faults(self, specs: Iterable[str]) -> None:
        """Append faults to the queue; each later `/v1` request consumes one.

        Args:
            specs: Fault specs (see `faults.py`).

        Raises:
            FaultSpecError: A spec is unknown; nothing is queued then.
        """
        parsed = [parse_fault(spec) for spec in specs]
        with self._lock:
            self._faults.extend(parsed)

    def pop_fault(self) -> Fault | None:
        """Remove and return the next queued fault, if any."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    @property
    def pending_faults(self) -> list[str]:
        """Specs still queued, in order."""
        with self._lock:
            return [fault.spec for fault in self._faults]

    def begin_request(
        self,
        *,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Any,
        headers: Mapping[str, str],
        has_auth: bool,
    ) -> RecordedRequest:
        """Log a new request and give it the next deterministic request id.

        Returns:
            The live record; finish it with `finish_request`.
        """
        with self._lock:
            self._counters["requests"] += 1
            record = RecordedRequest(
                method=method,
                path=path,
                query=dict(query),
                json=body,
                headers=scrub_headers(headers),
                has_auth=has_auth,
                serial=self._counters["requests"],
                request_id=request_id_for(self._counters["requests"]),
            )
            self._requests.append(record)
            return record

    def finish_request(
        self, record: RecordedRequest, *, status: int | None, fault: str | None
    ) -> None:
        """Store the outcome of a logged request."""
        with self._lock:
            record.status = status
            record.fault = fault
            if fault is not None:
                self._counters["faults"] += 1

    def count(self, name: str, increment: int = 1) -> None:
        """Bump a named counter (e.g. `chat.stream`)."""
        with self._lock:
            self._counters[name] += increment

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of the logged requests, oldest first."""
        with self._lock:
            return [dataclasses.replace(record) for record in self._requests]

    @property
    def counters(self) -> dict[str, int]:
        """A copy of the counters (`requests`, `faults`, `chat`, `chat.stream`, ...)."""
        with self._lock:
            return dict(self._counters)

    def reset(self) -> None:
        """Clear faults, the request log, counters and media state (ids restart too)."""
        with self._lock:
            self._faults.clear()
            self._requests.clear()
            self._counters.clear()
            self.echo_key = False
        self.media.reset()


def _bad_control(message: str, param: str = "faults") -> JSONResponse:
    # invented: the control API is the simulator's own; it reuses the error envelope.
    body = error_body("invalid_fault_spec", message, request_id=None, param=param)
    return JSONResponse(body, status_code=400)


_MEDIA_USAGE = (
    'body must be a JSON object like {"image_seconds": 5, "advance": 120, '
    '"job_faults": ["fail"], "r2_enabled": false}'
)


def _post_media(media: MediaState, raw: bytes) -> JSONResponse:
    """Apply `POST /_sim/media`: settings, then `job_faults` to queue, then `advance`."""
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return _bad_control(_MEDIA_USAGE, param="media")
    changes = dict(payload)
    specs = changes.pop("job_faults", [])
    advance = changes.pop("advance", 0)
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        return _bad_control("job_faults must be an array of strings", param="job_faults")
    if isinstance(advance, bool) or not isinstance(advance, (int, float)) or advance < 0:
        return _bad_control("advance must be a number of seconds >= 0", param="advance")
    try:
        for spec in specs:
            parse_job_fault(spec)  # all or nothing: check before changing anything
        media.configure(changes)
        media.enqueue_job_faults(specs)
    except ValueError as exc:  # includes JobFaultSpecError
        return _bad_control(str(exc), param="media")
    media.advance(float(advance))
    return JSONResponse(media.snapshot())


def control_routes(state: SimulatorState) -> list[Route]:
    """Build the unauthenticated `/_sim/*` routes tests use to drive the simulator.

    Args:
        state: The state these routes read and change.

    Returns:
        Routes for `POST|GET /_sim/faults`, `GET /_sim/requests`, `POST /_sim/reset`,
        `GET|POST /_sim/media`.
    """

    async def post_faults(request: Request) -> JSONResponse:
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            return _bad_control('body must be JSON like {"faults": ["429:2", "500"]}')
        specs = payload.get("faults") if isinstance(payload, dict) else None
        if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
            return _bad_control('body must be JSON like {"faults": ["429:2", "500"]}')
        try:
            state.enqueue_faults(specs)
        except FaultSpecError as exc:
            return _bad_control(str(exc))
        return JSONResponse({"queued": len(specs), "pending": state.pending_faults})

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse({"pending": state.pending_faults})

    async def get_requests(request: Request) -> JSONResponse:
        return JSONResponse(
            {"requests": [r.to_dict() for r in state.requests], "counters": state.counters}
        )

    async def post_reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"reset": True})

    async def get_media(request: Request) -> JSONResponse:
        return JSONResponse(state.media.snapshot())

    async def post_media(request: Request) -> JSONResponse:
        return _post_media(state.media, await request.body())

    return [
        Route("/_sim/faults", post_faults, methods=["POST"]),
        Route("/_sim/faults", get_faults, methods=["GET"]),
        Route("/_sim/requests", get_requests, methods=["GET"]),
        Route("/_sim/reset", post_reset, methods=["POST"]),
        Route("/_sim/media", get_media, methods=["GET"]),
        Route("/_sim/media", post_media, methods=["POST"]),
    ]

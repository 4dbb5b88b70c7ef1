"""The `/v1` request pipeline shared by every gateway endpoint.

Per request, in order: log it (without the key), pick its fault (the `X-Sim-Fault`
header, else the next queued one; an unknown header spec is a 400), sleep for `slow`,
answer with the fault's replacement response if it has one, check the bearer token
(401), reject a non-JSON body (400), reject a body that does not match AllToken's
request model for the route (400 naming the field, `validation.py`), then call the
endpoint handler. Faults come before auth so a queued fault is consumed by exactly the
next `/v1` request. Every response gets `x-gateway-request-id` and, on AllToken, the
`x-ratelimit-*` headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from alltoken_agent.simulator._constants import FAULT_HEADER, SIM_EPOCH, Dialect
from alltoken_agent.simulator.control import SimulatorState
from alltoken_agent.simulator.echo import echo_request_id, echo_response
from alltoken_agent.simulator.envelope import error_response
from alltoken_agent.simulator.faults import (
    DropConnection,
    Fault,
    FaultSpecError,
    parse_fault,
    replacement_response,
)
from alltoken_agent.simulator.validation import (
    REJECTIONS,
    Rejection,
    check_body,
    request_model,
)

_log = logging.getLogger(__name__)

RATE_LIMIT: Final = 600
"""Simulated requests per minute of every key (`x-ratelimit-limit`)."""


@dataclass(frozen=True)
class RequestContext:
    """Per-request facts the pipeline hands to an endpoint handler."""

    dialect: Dialect
    """Wire dialect of the app."""
    request_id: str
    """Deterministic gateway request id."""
    created: int
    """Deterministic `created` stamp for response bodies."""
    fault: Fault | None
    """Fault to apply to the body, if any (replacement faults never reach handlers)."""
    chunk_delay: float
    """Seconds between streamed events."""
    scope: Scope
    """ASGI scope (the connection-drop fault needs it)."""
    echo: str | None = None
    """The bearer token when this reply echoes it (`echo.py`), else None."""


Handler = Callable[[Any, RequestContext], Awaitable[Response]]
"""An endpoint: (parsed JSON body or None, context) -> response."""

_INVALID_JSON: Final = object()
"""Sentinel for a body that is present but not JSON."""


def bearer_token(request: Request) -> str:
    """Return the bearer token of a request, or "" when absent or empty."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID_JSON


def _gateway_headers(response: Response, dialect: Dialect, serial: int, request_id: str) -> None:
    # §3 row 14: the header form of the request id is unconfirmed (I); sent anyway.
    response.headers["x-gateway-request-id"] = request_id
    if dialect != "alltoken":
        return  # §2.1: TokenHub documents no rate-limit headers
    now = int(time.time())
    response.headers["x-ratelimit-limit"] = str(RATE_LIMIT)
    if "x-ratelimit-remaining" not in response.headers:
        response.headers["x-ratelimit-remaining"] = str(RATE_LIMIT - 1 - (serial - 1) % RATE_LIMIT)
    # DOCS-AT: reset is a timestamp. The real clock is used here (not SIM_EPOCH) so a
    # client that waits until the reset never sleeps for a long time.
    response.headers["x-ratelimit-reset"] = str(now - now % 60 + 60)


def v1_endpoint(
    handler: Handler, *, dialect: Dialect, state: SimulatorState, chunk_delay: float
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap an endpoint handler in the `/v1` pipeline (see the module docstring).

    Args:
        handler: The endpoint.
        dialect: Wire dialect of the app.
        state: Simulator state (request log, fault queue).
        chunk_delay: Seconds between streamed events.

    Returns:
        A Starlette endpoint.
    """

    async def endpoint(request: Request) -> Response:
        body = _parse_body(await request.body())
        token = bearer_token(request)
        record = state.begin_request(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            body=None if body is _INVALID_JSON else body,
            headers=request.headers,
            has_auth=bool(token),
        )
        state.count(request.url.path)
        serial = record.serial
        fault: Fault | None = None
        wire_id = record.request_id
        spec = request.headers.get(FAULT_HEADER, "").strip()
        try:
            fault = parse_fault(spec) if spec else state.pop_fault()
        except FaultSpecError as exc:
            response: Response = error_response(
                400,
                "invalid_fault_spec",
                f"{exc} (from the {FAULT_HEADER} header).",
                request_id=record.request_id,
                param=FAULT_HEADER,
            )
        else:
            echo = token if state.echo_key or (fault and fault.kind == "echo_key") else None
            if echo:
                wire_id = echo_request_id(record.request_id, echo)
            ctx = RequestContext(
                dialect=dialect,
                request_id=wire_id,
                created=SIM_EPOCH + serial,
                fault=fault,
                chunk_delay=chunk_delay,
                scope=request.scope,
                echo=echo or None,
            )
            response = await _respond(handler, body, ctx, token)
            if echo:
                response = echo_response(response, echo, wire_id)
        _gateway_headers(response, dialect, serial, wire_id)
        status = None if isinstance(response, DropConnection) else response.status_code
        state.finish_request(record, status=status, fault=fault.spec if fault else None)
        return response

    return endpoint


async def _respond(handler: Handler, body: Any, ctx: RequestContext, token: str) -> Response:
    fault = ctx.fault
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(fault.seconds)
    if fault is not None:
        replacement = replacement_response(fault, request_id=ctx.request_id, bearer_token=token)
        if replacement is not None:
            return replacement
    if not token:
        return error_response(
            401,
            "invalid_api_key",
            "Missing or empty API key (simulated gateway). Send 'Authorization: Bearer <key>'.",
            request_id=ctx.request_id,
        )
    if body is _INVALID_JSON:
        return error_response(
            400,
            "invalid_request",
            "The request body is not valid JSON (simulated gateway).",
            request_id=ctx.request_id,
        )
    invalid = _spec_rejection(body, ctx)
    if invalid is not None:
        return invalid
    try:
        return await handler(body, ctx)
    except Exception as exc:  # a simulator bug: answer in the envelope, loudly
        _log.exception("simulator endpoint failed")
        return error_response(
            500,
            "internal_error",
            f"Simulator bug ({type(exc).__name__}: {exc}); please report it.",
            request_id=ctx.request_id,
        )


def _spec_rejection(body: Any, ctx: RequestContext) -> Response | None:
    """The 400 for a body that fails the route's spec model (None: valid or unchecked)."""
    method, path = ctx.scope["method"], ctx.scope["path"]
    model = request_model(ctx.dialect, method, path)
    problem = check_body(model, body, path) if model is not None else None
    if problem is None:
        return None
    where = f"{problem.param}: " if problem.param else ""
    message = f"Invalid request: {where}{problem.message} (simulated gateway)."
    REJECTIONS.record(Rejection(method, path, problem.param, message, ctx.request_id))
    return error_response(
        400, problem.code, message, request_id=ctx.request_id, param=problem.param
    )

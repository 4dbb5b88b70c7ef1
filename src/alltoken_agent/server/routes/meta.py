"""What the server is and supports: capabilities (for clients) and health (for load balancers)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from alltoken_agent import __version__
from alltoken_agent.agent import BUILTIN_TOOLS, DEFAULT_TOOL_NAMES, EVENT_NAMES
from alltoken_agent.server.context import ContextDep
from alltoken_agent.server.schemas import Capabilities, Health, LimitsOut, QueueHealth

router = APIRouter(tags=["server"])

STREAM_EVENTS = sorted(EVENT_NAMES | {"retry", "done"})


@router.get("/v1/capabilities", response_model=Capabilities, summary="What this server supports")
async def capabilities(context: ContextDep) -> Capabilities:
    """Features and limits, so clients can detect them; needs no key."""
    options = context.options
    return Capabilities(
        version=__version__,
        streaming=True,
        tools=True,
        tool_names=sorted(BUILTIN_TOOLS),
        default_tools=list(DEFAULT_TOOL_NAMES),
        media=True,
        reasoning=True,
        cancel=True,
        usage=True,
        auth="none" if context.keyring.open else "bearer",
        events=STREAM_EVENTS,
        limits=LimitsOut(
            max_body_bytes=options.max_body_bytes,
            rate_limit_per_minute=options.rate_limit_per_minute,
            rate_limit_burst=options.rate_limit_burst,
            max_concurrent_runs=options.max_concurrent_runs,
            processes=options.processes,
        ),
    )


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Shutting down: send work elsewhere."}},
    summary="Health check",
)
async def health(context: ContextDep) -> JSONResponse:
    """200 while the server takes new work, 503 once it is shutting down.

    A server that hands its media jobs to workers adds `queue`: how long the oldest job
    no worker has taken has waited (one index lookup in the shared journal). The server
    cannot see its workers, so this is the one true sign of them: it grows while none
    takes jobs. It does not change `status`: the server itself still works.
    """
    if context.runs.draining:
        return JSONResponse(Health(status="draining").model_dump(exclude_none=True), 503)
    health = Health(status="ok")
    if context.media.to_workers:
        oldest = await context.calls.read(context.media.queue.oldest_waiting)
        age = None if oldest is None else max(0.0, (_now() - oldest).total_seconds())
        health.queue = QueueHealth(oldest_waiting_seconds=age)
    return JSONResponse(health.model_dump(exclude_none=health.queue is None))


def _now() -> datetime:
    return datetime.now(timezone.utc)

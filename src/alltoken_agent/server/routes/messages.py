"""Messages: send one to a session; get the answer as JSON or as a stream of the agent's events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from alltoken_agent import BudgetExceededError
from alltoken_agent.ledger import BudgetStatus
from alltoken_agent.server import sse
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.context import ContextDep, ServerContext
from alltoken_agent.server.cost_headers import (
    BUDGET_HEADER,
    COST_HEADER,
    UNKNOWN,
    format_remaining,
    mark_spending,
)
from alltoken_agent.server.errors import api_error_for, error_response
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.sessions import SessionId
from alltoken_agent.server.runs import Run, RunEnd
from alltoken_agent.server.schemas import ChatReply, MessageCreate
from alltoken_agent.server.turns import money, run_turn

router = APIRouter(prefix="/v1/sessions", tags=["messages"])

CallerDep = Annotated[Caller, Depends(current_caller)]

_HEADERS_DOC = {
    COST_HEADER: {
        "description": "What this message cost, USD (`unknown` when the gateway gave no figure "
        "and no price is known). On an event stream always `unknown` (it is not known when "
        "the stream starts): see the final event's `request_cost`.",
        "required": True,
        "schema": {"type": "string"},
    },
    BUDGET_HEADER: {
        "description": "The key's remaining daily budget, USD (`unlimited` without a budget); "
        "on an event stream, as it stood before the message.",
        "required": True,
        "schema": {"type": "string"},
    },
}

_STREAM_DOC = {
    "description": "The agent's answer. `Accept: text/event-stream` streams the agent's events "
    "(the CLI's `--json` lines: `message:user`, `stream:start`, `stream:delta`, `tool:call`, "
    "`tool:result`, `usage`, `cost`, `retry`, `message:assistant`, ...) ending with `done` "
    "(this JSON reply) or `error`.",
    "headers": _HEADERS_DOC,
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def _remaining(budget: BudgetStatus | None) -> str:
    return format_remaining(None if budget is None else budget.remaining)


async def start_turn(
    context: ServerContext,
    caller: Caller,
    session_id: str,
    content: str | list[dict[str, Any]],
    request: Request,
    *,
    streaming: bool,
) -> tuple[Run, BudgetStatus | None]:
    """Admit a turn of the caller's session (limits, budget, its lease) and start it.

    The session, its lease and its history come from one store call (``open_turn``).

    Raises:
        ApiError: 429 past the caller's limits, 402 past its budget, 404 when the caller
            has no such session, 409 while the session is running a turn (here or on
            another replica).
    """
    run = context.runs.admit(caller, session_id, streaming=streaming)
    try:
        budget = await context.check_budget(caller)
        session, history = await context.runs.open_turn(run)
    except BudgetExceededError as exc:
        context.runs.cancel_admission(run)
        refused = api_error_for(exc, context.redact)
        refused.headers.update({COST_HEADER: "0", BUDGET_HEADER: "0"})
        raise refused from None
    except BaseException:
        context.runs.cancel_admission(run)
        raise
    context.runs.start(run, run_turn(context, run, session, history, content))
    mark_spending(request)  # from here on, the reply's cost is unknown until the run says
    return run, budget


def end_headers(end: RunEnd) -> dict[str, str]:
    """The cost headers of a finished run's JSON reply."""
    return {
        COST_HEADER: money(end.cost) or UNKNOWN,
        BUDGET_HEADER: _remaining(end.budget),
    }


@router.post(
    "/{session_id}/messages",
    response_model=ChatReply,
    responses={200: _STREAM_DOC, **responses(400, 402, 404, 409, 413, 502, 503, 504)},
    summary="Send a message",
)
async def post_message(
    session_id: SessionId,
    body: MessageCreate,
    request: Request,
    caller: CallerDep,
    context: ContextDep,
) -> Response:
    """Send a message to the session's agent and get its answer.

    The agent may call its tools first. The turn is saved in the session whatever the
    outcome (whole steps only). With `Accept: text/event-stream` the answer streams as
    events; closing that stream cancels the run.
    """
    streaming = "text/event-stream" in request.headers.get("accept", "")
    run, budget = await start_turn(
        context, caller, session_id, body.message_content(), request, streaming=streaming
    )
    if streaming:
        return sse.EventStreamResponse(
            run, context.options.keepalive_interval, {BUDGET_HEADER: _remaining(budget)}
        )
    end = await run.wait()
    if end.name == "error" and end.error is not None:
        return error_response(api_error_for(end.error, context.redact), end_headers(end))
    payload = {key: value for key, value in end.payload.items() if key != "event"}
    return JSONResponse(payload, headers=end_headers(end))

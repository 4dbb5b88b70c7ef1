"""Messages: send one to a session; get the answer as JSON or as a stream of the agent's events.

The route is FastAPI's (its OpenAPI entry, and FastAPI's answers to a body it cannot
use), but a well-formed message never reaches it: :class:`MessageFastPath`, an ASGI
layer just inside the key check, validates the body with the same schema and answers
with the same handler. FastAPI's routing, dependency solving and body handling were
about a tenth of the server's CPU per message under load. Anything the fast path does
not take (another content type, a body the schema refuses, a mounted app) goes on to
the route with its body replayed, so every refusal stays FastAPI's.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alltoken_agent import BudgetExceededError
from alltoken_agent.ledger import BudgetStatus
from alltoken_agent.server import sse
from alltoken_agent.server.auth import CALLER_SCOPE_KEY, Caller, current_caller
from alltoken_agent.server.context import ContextDep, ServerContext
from alltoken_agent.server.cost_headers import (
    BOOK_HEADER,
    BUDGET_HEADER,
    COST_HEADER,
    UNKNOWN,
    format_remaining,
    mark_spending,
)
from alltoken_agent.server.errors import ApiError, RunCancelledError, api_error_for, error_response
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.sessions import SessionId
from alltoken_agent.server.runs import Run, RunEnd
from alltoken_agent.server.schemas import MAX_ID_CHARS, ChatReply, MessageCreate
from alltoken_agent.server.turns import money, open_and_run_turn

logger = logging.getLogger("alltoken_agent.server")

PREFIX: Final = "/v1/sessions"
SUFFIX: Final = "/messages"

router = APIRouter(prefix=PREFIX, tags=["messages"])

CallerDep = Annotated[Caller, Depends(current_caller)]

_HEADERS_DOC = {
    COST_HEADER: {
        "description": "What this message cost, USD (`unknown` when the gateway gave no figure "
        "and no price is known). On an event stream always `unknown` (it is not known when "
        "the stream starts): see the final event's `request_cost`.",
        "required": True,
        "schema": {"type": "string"},
    },
    BOOK_HEADER: {
        "description": "The ledger book the cost went to: `real`, or `simulated` when the "
        "offline simulator answered (its cost is made up, never money).",
        "required": True,
        "schema": {"type": "string", "enum": ["real", "simulated"]},
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

    The run's own task checks the budget and opens the turn (``open_and_run_turn``), so
    the gateway is asked in the step that gets the session: a task started once the turn
    was open took its first step one pass of the event loop later, several milliseconds
    before the first token under load (``bench/server_load.py``'s steady phase).

    Raises:
        ApiError: 429 past the caller's limits, 402 past its budget, 404 when the caller
            has no such session, 409 while the session is running a turn (here or on
            another replica).
    """
    run = context.runs.admit(caller, session_id, streaming=streaming)
    opened: asyncio.Future[BudgetStatus | None] = asyncio.get_running_loop().create_future()
    # A run refused by the open ends its task, which gives its admission back.
    context.runs.start(run, open_and_run_turn(context, run, content, opened))
    try:
        budget = await opened
    except BudgetExceededError as exc:
        refused = api_error_for(exc, context.redact)
        refused.headers.update({COST_HEADER: "0", BUDGET_HEADER: "0"})
        raise refused from None
    except RunCancelledError as exc:  # the server began to shut down as the turn opened
        raise api_error_for(exc, context.redact) from None
    except asyncio.CancelledError:
        # Still opening: ``opened`` was cancelled with this wait, and the run ends once
        # the turn is open. Started: nobody is left to answer, so it stops here.
        if not opened.cancelled():
            run.cancel("client_disconnected")
        raise
    mark_spending(request)  # from here on, the reply's cost is unknown until the run says
    return run, budget


def end_headers(end: RunEnd, *, simulated: bool) -> dict[str, str]:
    """The cost headers of a finished run's JSON reply; ``simulated``: the gateway's."""
    return {
        COST_HEADER: money(end.cost) or UNKNOWN,
        BOOK_HEADER: "simulated" if simulated else "real",
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
    return await answer(context, caller, session_id, body, request)


async def answer(
    context: ServerContext,
    caller: Caller,
    session_id: str,
    body: MessageCreate,
    request: Request,
) -> Response:
    """The reply to a message: its event stream, or (once the run ends) its JSON answer.

    Raises:
        ApiError: The turn could not start (see :func:`start_turn`).
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
        return error_response(
            api_error_for(end.error, context.redact),
            end_headers(end, simulated=context.gateway.simulated),
        )
    payload = {key: value for key, value in end.payload.items() if key != "event"}
    return JSONResponse(payload, headers=end_headers(end, simulated=context.gateway.simulated))


def _session_of(path: str) -> str | None:
    """The session id of a messages path (``/v1/sessions/{id}/messages``), else None."""
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        return None
    session_id = path[len(PREFIX) + 1 : -len(SUFFIX)]
    if path[len(PREFIX)] != "/" or not session_id or "/" in session_id:
        return None
    return session_id if len(session_id) <= MAX_ID_CHARS else None


def _json_body(scope: Scope) -> bool:
    """Whether the request says its body is JSON (FastAPI's own test, cheaply)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind: bytes = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or (
                kind.startswith(b"application/") and kind.endswith(b"+json")
            )
    return False


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: nothing to answer
            raise _ClientGoneError
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


class _ClientGoneError(Exception):
    """The client went away before its request's body arrived."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once more, then what ``receive`` gives."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


class MessageFastPath:
    """ASGI middleware: a well-formed message answered by the route's own handler.

    A ``POST /v1/sessions/{id}/messages`` whose JSON body the schema accepts goes to
    :func:`answer` here, without FastAPI's routing, dependencies or body handling.
    Place it inside the key check (``AuthGate``): it needs the caller the gate found.
    A request it does not take goes on unchanged (its body replayed when already read).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a well-formed message, or pass the request on."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        session_id = _session_of(scope["path"])
        caller = scope.get(CALLER_SCOPE_KEY)
        if session_id is None or not isinstance(caller, Caller) or not _json_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            data = await _read_body(receive)
        except _ClientGoneError:
            return
        try:
            body = MessageCreate.model_validate_json(data)
        except ValidationError:  # FastAPI's route says what is wrong, as it always has
            await self.app(scope, _replay(data, receive), send)
            return
        context = scope["app"].state.server
        assert isinstance(context, ServerContext)
        response: Response
        try:
            response = await answer(context, caller, session_id, body, Request(scope, receive))
        except ApiError as error:
            response = error_response(error)
        except Exception as error:  # as the app's error handler answers it
            mapped = api_error_for(error, context.redact)
            if mapped.status >= 500 and mapped.code == "internal_error":
                logger.error("request failed: %s", context.redact(repr(error)))
            response = error_response(mapped)
        del data, body  # not held for as long as the answer streams
        await response(scope, receive, send)

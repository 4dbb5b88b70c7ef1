"""``POST /chat``: the AllToken agent skill's server contract, on our sessions.

The skill's server takes ``{"sessionId", "message"}`` and answers ``{"response",
"history"}``, keeping one agent per session id, created on first use. Here a session id
is the name of one of the caller's sessions, so the same conversation is also reachable
under ``/v1/sessions``, with the same keys, quotas, limits, budget and leases.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from alltoken_agent import UserError
from alltoken_agent.agent import DEFAULT_MODEL, DEFAULT_TOOL_NAMES
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.context import ContextDep, ServerContext
from alltoken_agent.server.errors import api_error_for, error_response
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.messages import end_headers, start_turn
from alltoken_agent.server.routes.sessions import check_quota
from alltoken_agent.server.schemas import SkillChatReply, SkillChatRequest
from alltoken_agent.store import SessionRecord

router = APIRouter(tags=["skill"])

CallerDep = Annotated[Caller, Depends(current_caller)]


async def _session_named(name: str, caller: Caller, context: ServerContext) -> SessionRecord:
    """The caller's session called ``name``, created (within the quota) if there is none."""
    sessions = context.store.sessions
    record = await context.calls.read(sessions.find_session, name, owner=caller.owner)
    if record is not None:
        return record

    async def create() -> SessionRecord:
        try:
            return await context.calls.write(
                sessions.create_session,
                name=name,
                owner=caller.owner,
                model=context.gateway.model or DEFAULT_MODEL,
                metadata={"tools": list(DEFAULT_TOOL_NAMES), "thinking": False},
            )
        except UserError:  # created meanwhile by a concurrent first message
            found = await context.calls.read(sessions.find_session, name, owner=caller.owner)
            if found is None:
                raise
            return found

    if caller.owner is None:
        return await create()
    async with context.creation_lock(caller.owner):
        await check_quota(caller.owner, context)
        return await create()


@router.post(
    "/chat",
    response_model=SkillChatReply,
    responses=responses(400, 402, 403, 409, 413, 502, 503, 504),
    summary="Chat, as the AllToken agent skill's server does",
)
async def skill_chat(
    body: SkillChatRequest, request: Request, caller: CallerDep, context: ContextDep
) -> Response:
    """Send ``message`` to the agent of ``sessionId`` and get its answer and the history.

    The session is created on first use with the server's default model and tools, and
    is one of the caller's sessions (``GET /v1/sessions`` lists it).
    """
    session = await _session_named(body.sessionId, caller, context)
    run, _ = await start_turn(context, caller, session.id, body.message, request, streaming=False)
    end = await run.wait()
    if end.name == "error" and end.error is not None:
        return error_response(
            api_error_for(end.error, context.redact),
            end_headers(end, simulated=context.gateway.simulated),
        )
    history = await context.calls.read(context.store.sessions.load_messages, session.id)
    reply = SkillChatReply(
        response=str(end.payload.get("text", "")),
        history=[message for message in history if message.get("role") != "system"],
    )
    return JSONResponse(
        reply.model_dump(), headers=end_headers(end, simulated=context.gateway.simulated)
    )

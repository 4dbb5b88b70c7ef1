"""Sessions: create, list, read (with messages) and delete the caller's conversations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from alltoken_agent.agent import DEFAULT_MODEL, DEFAULT_TOOL_NAMES
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.context import ContextDep, ServerContext, session_not_found
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.routes import responses
from alltoken_agent.server.schemas import (
    MAX_ID_CHARS,
    SessionCreate,
    SessionDetail,
    SessionList,
    SessionOut,
)
from alltoken_agent.server.turns import session_tools
from alltoken_agent.store import SessionRecord

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

CallerDep = Annotated[Caller, Depends(current_caller)]
SessionId = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_CHARS, description="A session id (`ses_...`).")
]


class ListQuery(BaseModel):
    """Query parameters of the session list (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=100, description="At most this many.")


def session_out(record: SessionRecord) -> SessionOut:
    """The public view of a stored session."""
    return SessionOut(
        id=record.id,
        model=record.model,
        instructions=record.instructions,
        tools=session_tools(record),
        thinking=bool(record.metadata.get("thinking", False)),
        created_at=record.created_at,
        updated_at=record.updated_at,
        message_count=record.message_count,
        name=record.name,
    )


@router.post(
    "",
    status_code=201,
    response_model=SessionOut,
    responses=responses(403, 413),
    summary="Create a session",
)
async def create_session(
    body: SessionCreate, caller: CallerDep, context: ContextDep, response: Response
) -> SessionOut:
    """Start a conversation with a model, a system prompt and built-in tools.

    Each key may keep at most the server's `max_sessions_per_key` sessions: one more is a
    403 (`session_quota_exceeded`) until it deletes some.
    """
    tools = list(DEFAULT_TOOL_NAMES) if body.tools is None else list(dict.fromkeys(body.tools))

    async def create() -> SessionRecord:
        return await context.calls.write(
            context.store.sessions.create_session,
            owner=caller.owner,
            model=body.model or context.gateway.model or DEFAULT_MODEL,
            instructions=body.instructions,
            metadata={"tools": tools, "thinking": body.thinking},
        )

    if caller.owner is None:  # an open server: its sessions are the local user's own
        record = await create()
    else:
        async with context.creation_lock(caller.owner):  # count and create as one step
            await check_quota(caller.owner, context)
            record = await create()
    response.headers["Location"] = f"/v1/sessions/{record.id}"
    return session_out(record)


async def check_quota(owner: str, context: ServerContext) -> None:
    """403 when ``owner`` already keeps as many sessions as the server allows per key."""
    quota = context.options.max_sessions_per_key
    # Counted in the database: loading each session to count them made every creation
    # cost more than the last (a thousand records parsed at the quota).
    held = await context.calls.read(context.store.sessions.count_sessions, owner=owner, up_to=quota)
    if held >= quota:
        raise ApiError(
            403,
            "session_quota_exceeded",
            f"this key already has {quota} sessions, the most this server keeps per key; "
            "delete some (DELETE /v1/sessions/{id}) before creating another",
            type="permission_error",
        )


@router.get("", response_model=SessionList, responses=responses(), summary="List sessions")
async def list_sessions(
    caller: CallerDep, context: ContextDep, query: Annotated[ListQuery, Query()]
) -> SessionList:
    """The caller's sessions, most recently updated first."""
    records = await context.calls.read(
        context.store.sessions.list_sessions, owner=caller.owner, limit=query.limit
    )
    return SessionList(sessions=[session_out(record) for record in records])


@router.get(
    "/{session_id}",
    response_model=SessionDetail,
    responses=responses(404),
    summary="Read a session and its messages",
)
async def get_session(
    session_id: SessionId, caller: CallerDep, context: ContextDep
) -> SessionDetail:
    """One of the caller's sessions, with its messages in OpenAI's chat format."""
    record = await context.session(session_id, caller)
    messages = await context.calls.read(context.store.sessions.load_messages, record.id)
    return SessionDetail(**session_out(record).model_dump(), messages=messages)


@router.delete(
    "/{session_id}",
    status_code=204,
    response_class=Response,
    responses=responses(404, 409),
    summary="Delete a session",
)
async def delete_session(session_id: SessionId, caller: CallerDep, context: ContextDep) -> Response:
    """Delete one of the caller's sessions and its messages."""
    if context.runs.session_busy(session_id):
        await context.session(session_id, caller)  # another key's busy session is still a 404
        raise ApiError(
            409,
            "session_busy",
            "this session is answering a message; delete it once the answer is done",
            type="conflict_error",
        )
    deleted = await context.calls.write(
        context.store.sessions.delete_session, session_id, owner=caller.owner
    )
    if not deleted:
        raise session_not_found(session_id)
    return Response(status_code=204)

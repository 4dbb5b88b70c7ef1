"""Session changes: rename one of the caller's conversations, or switch its model."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends

from alltoken_agent import AllTokenAgentError, UserError
from alltoken_agent.catalog import Catalog
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.console_schemas import SessionPatch
from alltoken_agent.server.context import ContextDep, ServerContext, session_not_found
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.sessions import SessionId, session_out
from alltoken_agent.server.schemas import SessionOut

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

CallerDep = Annotated[Caller, Depends(current_caller)]
logger = logging.getLogger("alltoken_agent.server")
_RESPONSES = responses(404, 409)
_RESPONSES[404] = {
    **_RESPONSES[404],
    "description": "No such session for this key, or no such model in the gateway's catalog.",
}


@router.patch(
    "/{session_id}",
    response_model=SessionOut,
    responses=_RESPONSES,
    summary="Rename a session or switch its model",
)
async def patch_session(
    session_id: SessionId, body: SessionPatch, caller: CallerDep, context: ContextDep
) -> SessionOut:
    """Give one of the caller's sessions a name, or a model for its next messages.

    A name another of the key's sessions has is a 409 (`session_name_taken`). A new
    model applies from the next message (a turn running now keeps its model); one the
    gateway's catalog does not list is a 404 (`model_not_found`), so a session is never
    left on a model that fails every message.
    """
    record = await context.session(session_id, caller)  # another key's session: 404
    if body.name is not None:
        try:
            renamed = await context.calls.write(
                context.store.sessions.rename_session,
                record.id,
                body.name.strip(),
                owner=caller.owner,
            )
        except UserError as exc:
            raise ApiError(
                409, "session_name_taken", context.redact(str(exc)), type="conflict_error"
            ) from None
        if not renamed:  # deleted meanwhile
            raise session_not_found(session_id)
    if body.model is not None and body.model != record.model:
        await _check_model(context, body.model.strip())
        await context.calls.write(
            context.store.sessions.update_session, record.id, model=body.model.strip()
        )
    return session_out(await context.session(record.id, caller))


async def _check_model(context: ServerContext, model: str) -> None:
    """404 for a model the gateway's catalog does not list (a catalog that fails: let it be)."""
    try:
        entries = await Catalog(context.gateway).entries(retry=False)
    except AllTokenAgentError as exc:
        logger.warning(
            "cannot check model %r against the catalog: %s", model, context.redact(str(exc))
        )
        return
    if model not in {entry.id for entry in entries}:
        raise ApiError(
            404,
            "model_not_found",
            f"the gateway's catalog has no model {model!r}; list them with GET /v1/models",
            type="not_found_error",
        )

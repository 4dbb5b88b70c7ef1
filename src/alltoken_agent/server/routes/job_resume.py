"""Resume a media job: drive one of the caller's unfinished jobs again on this server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.context import ContextDep
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.job_schemas import JobOut
from alltoken_agent.server.media import shutting_down
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.media import JobId, job_out

router = APIRouter(tags=["media"])

CallerDep = Annotated[Caller, Depends(current_caller)]


@router.post(
    "/v1/jobs/{job_id}/resume",
    status_code=202,
    response_model=JobOut,
    responses=responses(404, 409, 503),
    summary="Resume a job",
)
async def resume_job(job_id: JobId, caller: CallerDep, context: ContextDep) -> JobOut:
    """Follow one of the caller's unfinished jobs again, as `jobs resume` does.

    The job is polled, never submitted twice, and its files saved once. A job this
    server drives already is left as it is (202 all the same); a job that ended is a
    409 (`job_finished`).
    """
    if context.runs.draining:
        raise shutting_down()
    record = await context.calls.read(context.store.media_jobs.find, job_id, owner=caller.owner)
    if record is None:  # another key's job does not exist for this one
        raise ApiError(
            404,
            "job_not_found",
            f"no media job {job_id!r} for this key; list them with GET /v1/jobs",
            type="not_found_error",
        )
    if record.finished:
        raise ApiError(
            409,
            "job_finished",
            f"job {record.id} already ended ({record.status}); nothing to resume",
            type="conflict_error",
        )
    context.media.start(record)
    return job_out(context, record)

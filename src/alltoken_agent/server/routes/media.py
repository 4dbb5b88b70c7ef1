"""Media jobs: submit an image or video job, follow it, fetch its files, cancel it.

A submit answers 202 with the job as soon as it is journaled; the server runs it in
the background, or queues it for workers (see ``server/media.py``). Each key sees only
its own jobs: another key's job, or its file, is a 404 like a job that does not exist.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from alltoken_agent import MediaJobError, MediaJobRecord, UserError
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.context import ContextDep, ServerContext
from alltoken_agent.server.cost_headers import mark_spending
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.job_schemas import (
    ImageJobCreate,
    JobErrorOut,
    JobFileOut,
    JobKind,
    JobList,
    JobOut,
    JobStatus,
    VideoJobCreate,
)
from alltoken_agent.server.media import shutting_down
from alltoken_agent.server.routes import responses
from alltoken_agent.server.schemas import MAX_ID_CHARS

router = APIRouter(tags=["media"])

CallerDep = Annotated[Caller, Depends(current_caller)]
JobId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="A job id (`job_...`), or the gateway's task id of the job.",
    ),
]
FileIndex = Annotated[
    int, Path(ge=0, le=100, description="The file's `index` in the job (0 for the first).")
]

_MEDIA_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "application/octet-stream",
)
_FILE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, with its media type.",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in _MEDIA_TYPES
        },
    }
}


class JobsQuery(BaseModel):
    """Query parameters of the job list (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=100, description="At most this many.")
    kind: JobKind | None = Field(default=None, description="Only image or only video jobs.")
    status: JobStatus | None = Field(default=None, description="Only jobs in this status.")


@router.post(
    "/v1/images",
    status_code=202,
    response_model=JobOut,
    responses=responses(402, 413, 503),
    summary="Submit an image job",
)
async def create_image_job(
    body: ImageJobCreate,
    caller: CallerDep,
    context: ContextDep,
    request: Request,
    response: Response,
) -> JobOut:
    """Start generating images; follow the job at `GET /v1/jobs/{id}` (the `Location`)."""
    options = body.model_dump(exclude_none=True)
    return await _submit(context, caller, request, response, "image", options)


@router.post(
    "/v1/videos",
    status_code=202,
    response_model=JobOut,
    responses=responses(402, 413, 503),
    summary="Submit a video job",
)
async def create_video_job(
    body: VideoJobCreate,
    caller: CallerDep,
    context: ContextDep,
    request: Request,
    response: Response,
) -> JobOut:
    """Start generating a video; follow the job at `GET /v1/jobs/{id}` (the `Location`)."""
    options = body.model_dump(exclude_none=True)
    return await _submit(context, caller, request, response, "video", options)


async def _submit(
    context: ServerContext,
    caller: Caller,
    request: Request,
    response: Response,
    kind: str,
    options: dict[str, Any],
) -> JobOut:
    if context.runs.draining:
        raise shutting_down()
    await context.check_budget(caller)
    mark_spending(request)  # the job is billed as it runs: its cost is unknown here
    record = await context.media.create(kind, caller.owner, **options)
    response.headers["Location"] = f"/v1/jobs/{record.id}"
    return job_out(context, record)


@router.get("/v1/jobs", response_model=JobList, responses=responses(), summary="List jobs")
async def list_jobs(
    caller: CallerDep, context: ContextDep, query: Annotated[JobsQuery, Query()]
) -> JobList:
    """The caller's media jobs, newest first."""
    records = await context.calls.read(
        context.store.media_jobs.list_jobs,
        owner=caller.owner,
        kind=query.kind,
        statuses=None if query.status is None else [query.status],
        limit=query.limit,
    )
    return JobList(jobs=[job_out(context, record) for record in records])


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    responses=responses(404),
    summary="Read a job",
)
async def get_job(job_id: JobId, caller: CallerDep, context: ContextDep) -> JobOut:
    """One of the caller's jobs: its status, its files (with their URLs) or its error."""
    return job_out(context, await _job(context, job_id, caller))


@router.get(
    "/v1/jobs/{job_id}/files/{index}",
    response_class=FileResponse,
    responses={**_FILE_DOC, **responses(404)},
    summary="Fetch a job's file",
)
async def get_job_file(
    job_id: JobId, index: FileIndex, caller: CallerDep, context: ContextDep
) -> FileResponse:
    """One saved file of one of the caller's jobs, as its bytes."""
    return await job_file(context, await _job(context, job_id, caller), index)


async def job_file(context: ServerContext, record: MediaJobRecord, index: int) -> FileResponse:
    """The bytes of file ``index`` of ``record`` (ranges too), or 404 when it is not here."""
    entry = record.files[index] if index < len(record.files) else None
    path = str(entry.get("path") or "") if entry else ""
    if (
        not path
        or not context.media.serves(path)
        or not await context.calls.read(os.path.isfile, path)
    ):
        raise ApiError(
            404,
            "file_not_found",
            f"job {record.id} has no file {index} on this server; GET /v1/jobs/{record.id} "
            "lists its files",
            type="not_found_error",
        )
    assert entry is not None
    mime = str(entry.get("mime_type") or "application/octet-stream")
    if mime not in _MEDIA_TYPES:
        mime = "application/octet-stream"
    return FileResponse(path, media_type=mime, filename=os.path.basename(path))


@router.post(
    "/v1/jobs/{job_id}/cancel",
    response_model=JobOut,
    responses=responses(400, 404, 409, 502, 503, 504),
    summary="Cancel a job",
)
async def cancel(job_id: JobId, caller: CallerDep, context: ContextDep, request: Request) -> JobOut:
    """Cancel one of the caller's queued or running video jobs (AllToken gateways only).

    A job still `queued` for a worker (any kind, any gateway) is taken off the queue:
    nothing was sent, nothing is paid. Otherwise images cannot be cancelled (the gateway
    has no cancel for them, and a submitted image is paid for), nor can a job that
    ended or whose submit is not confirmed yet: each is a 409.
    """
    record = await _job(context, job_id, caller)
    if record.status == "queued":
        taken_off = await context.calls.write(
            context.media.queue.cancel, record.id, owner=caller.owner
        )
        if taken_off is not None:
            return job_out(context, taken_off)
        record = await _job(context, record.id, caller)  # a worker took it meanwhile
    reason = _cannot_cancel(context, record)
    if reason is not None:
        raise ApiError(409, "cannot_cancel", reason, type="conflict_error")
    mark_spending(request)  # a request to the gateway, whose price we cannot know
    try:
        await context.media.jobs.cancel(record.id, owner=caller.owner)
    except (MediaJobError, UserError) as error:  # it ended meanwhile
        raise ApiError(
            409, "cannot_cancel", context.redact(str(error)), type="conflict_error"
        ) from None
    context.media.stop_driving(record.id)
    return job_out(context, await _job(context, record.id, caller))


def _cannot_cancel(context: ServerContext, record: MediaJobRecord) -> str | None:
    if record.kind == "image":
        return (
            "image jobs cannot be cancelled: the gateway has no cancel for images and a "
            "submitted image is paid for"
        )
    if record.finished:
        return f"job {record.id} already ended ({record.status})"
    if context.gateway.provider.dialect != "alltoken" or record.dialect != "alltoken":
        return f"the {context.gateway.provider.name} gateway cannot cancel video jobs"
    if record.task_id is None:
        return f"job {record.id} is not submitted yet; try again in a moment"
    return None


async def _job(context: ServerContext, job_id: str, caller: Caller) -> MediaJobRecord:
    """The caller's job, or 404: another key's job does not exist for this one."""
    record = await context.calls.read(context.store.media_jobs.find, job_id, owner=caller.owner)
    if record is None:
        raise ApiError(
            404,
            "job_not_found",
            f"no media job {job_id!r} for this key; list them with GET /v1/jobs",
            type="not_found_error",
        )
    return record


def job_out(context: ServerContext, record: MediaJobRecord) -> JobOut:
    """The public view of a journaled job (no server paths)."""
    files = [
        JobFileOut(
            index=index,
            mime_type=str(entry.get("mime_type") or "application/octet-stream"),
            size=int(entry.get("size") or 0),
            url=f"/v1/jobs/{record.id}/files/{index}"
            if context.media.serves(str(entry.get("path") or ""))
            else None,
        )
        for index, entry in enumerate(record.files)
    ]
    error = None
    if record.status in ("failed", "cancelled", "expired"):
        error = JobErrorOut(
            code=record.error_code,
            message=None if record.error is None else context.redact(record.error),
        )
    return JobOut(
        id=record.id,
        kind=record.kind,
        status=record.status,
        model=record.model,
        task_id=record.task_id,
        params=record.params,
        files=files,
        error=error,
        created_at=record.created_at,
        updated_at=record.updated_at,
        completed_at=record.completed_at,
    )

"""Resume a media job, and short-lived links to a job's files (see ``console.links``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse

from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.console.links import LINK_PATH, MAX_TOKEN_LENGTH, FileLinks
from alltoken_agent.server.console_schemas import FileLinkOut
from alltoken_agent.server.context import ContextDep, ServerContext
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.job_schemas import JobOut
from alltoken_agent.server.media import shutting_down
from alltoken_agent.server.routes import responses
from alltoken_agent.server.routes.media import _FILE_DOC, FileIndex, JobId, job_file, job_out

router = APIRouter(tags=["media"])

CallerDep = Annotated[Caller, Depends(current_caller)]
Token = Annotated[
    str, Path(min_length=1, max_length=MAX_TOKEN_LENGTH, description="A link's token.")
]


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
    server drives already is left as it is (202 all the same), and so is every job of a
    server that hands its jobs to workers (they take a queued job at once, one whose
    worker died once its lease runs out); a job that ended is a 409 (`job_finished`).
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


@router.post(
    "/v1/jobs/{job_id}/files/{index}/link",
    response_model=FileLinkOut,
    responses=responses(404),
    summary="Link to a job's file",
)
async def link_job_file(
    job_id: JobId, index: FileIndex, caller: CallerDep, context: ContextDep, request: Request
) -> FileLinkOut:
    """A URL that serves one file of one of the caller's jobs without the key, for minutes.

    For players that cannot send an `Authorization` header (an HTML `<video>`): the
    link's signed token opens this one file only, with byte ranges, until it expires
    (`expires_in` seconds), on any replica sharing this server's store; it is not the
    key and is masked in the server's log.
    """
    record = await context.calls.read(context.store.media_jobs.find, job_id, owner=caller.owner)
    if record is None or index >= len(record.files):
        raise _no_file(job_id, index)
    links = await _links(request, context)
    token, seconds = links.issue(caller.owner, record.id, index)
    return FileLinkOut(url=f"{LINK_PATH}/{token}", expires_in=int(seconds))


@router.get(
    LINK_PATH + "/{token}",
    response_class=FileResponse,
    responses={**_FILE_DOC, **responses(404)},
    summary="Fetch a file by its link",
)
async def linked_file(token: Token, context: ContextDep, request: Request) -> FileResponse:
    """The file a link from `POST /v1/jobs/{id}/files/{index}/link` opens; no key needed.

    404 (`link_not_found`) once the link expired, for a token no server on this store
    made (or one changed in any part), and once its job is gone.
    """
    links = await _links(request, context)
    link = links.resolve(token)
    record = None
    if link is not None:
        record = await context.calls.read(context.store.media_jobs.get_any_owner, link.job_id)
    # The signature binds the owner the token leaves out: the job's owner must match it.
    if link is None or record is None or not links.opens(link, record.owner):
        raise ApiError(
            404,
            "link_not_found",
            "this file link expired or never existed; ask for a new one with "
            "POST /v1/jobs/{id}/files/{index}/link",
            type="not_found_error",
        )
    return await job_file(context, record, link.index)


async def _links(request: Request, context: ServerContext) -> FileLinks:
    links: FileLinks = request.app.state.file_links
    if not links.ready:  # the first link of this process reads (or makes) the shared key
        await context.calls.write(links.load)
    return links


def _no_file(job_id: str, index: int) -> ApiError:
    return ApiError(
        404,
        "file_not_found",
        f"no file {index} of a media job {job_id!r} for this key; list them with GET /v1/jobs",
        type="not_found_error",
    )

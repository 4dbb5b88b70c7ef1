"""Resuming journaled media jobs: asking before a never-sent job is sent, several at once."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import typer

from alltoken_agent.cli.media import JobDisplay, report_failure, say
from alltoken_agent.cli.output import EventWriter

if TYPE_CHECKING:  # the media jobs and the gateway are imported when a command runs
    from alltoken_agent.media import DownloadLimits, Media, MediaJobRecord

RESUME_CONCURRENCY = 4
"""Jobs resumed at once by `jobs resume` without an id."""


async def resume_all(
    media: Media,
    records: list[MediaJobRecord],
    display: JobDisplay,
    writer: EventWriter,
    resubmit: bool,
    limits: DownloadLimits,
) -> list[int]:
    """Finish ``records`` on ``media``'s gateway, a few at once; one exit code per job.

    A single job's failure is raised; with several, each is reported and counted.
    """
    gate = asyncio.Semaphore(RESUME_CONCURRENCY)

    async def one(record: MediaJobRecord) -> int:
        async with gate:
            try:
                result = await media.resume(
                    record.id, on_progress=display, resubmit=resubmit, limits=limits
                )
            except Exception as error:
                if len(records) == 1:
                    raise
                return report_failure(writer, error, job_id=record.id)
            display.unfinished.pop(record.id, None)
            if not set(result.paths) & set(display.saved):
                # Finished before (long ago, or by another process while this one
                # waited): nothing was saved now, so say where its files are.
                writer.emit(
                    "job:done",
                    job_id=record.id,
                    kind=record.kind,
                    task_id=record.task_id,
                    paths=[str(p) for p in result.paths],
                )
                display.saved.extend(result.paths)
            return 0

    return list(await asyncio.gather(*(one(record) for record in records)))


def send_now(record: MediaJobRecord) -> bool | None:
    """Ask on a terminal whether to send a never-sent job; without one, say how (None)."""
    prompt = str(record.params.get("prompt") or "")
    shown = prompt if len(prompt) <= 60 else prompt[:57] + "..."
    if sys.stdin.isatty() and sys.stderr.isatty():
        return typer.confirm(
            f"{record.kind} job {record.id} ({shown!r}) was never sent; send it now "
            "(it is billed like a new job)?",
            default=False,
            err=True,
        )
    say(
        f"{record.kind} job {record.id} was never sent (nothing paid yet): "
        f"`alltoken-agent jobs resume {record.id} --yes` sends it, "
        f"`alltoken-agent jobs discard {record.id}` forgets it"
    )
    return None

"""`alltoken-agent jobs`: the local journal of media jobs (list, show, resume, cancel, discard)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from alltoken_agent import UserError
from alltoken_agent.cli._job_gateway import job_groups
from alltoken_agent.cli._jobs_resume import resume_all, send_now
from alltoken_agent.cli.exit_codes import USAGE
from alltoken_agent.cli.media import (
    JobDisplay,
    download_limits,
    run_media_command,
    say,
)
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    JsonOpt,
    MediaIdleTimeoutOpt,
    MediaTimeoutOpt,
    OfflineOpt,
    ProviderOpt,
    VerboseOpt,
    load_user_config,
    observing_ledger,
    open_gateway,
    retry_notices,
)
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.cli.terminal import render_table

if TYPE_CHECKING:  # the store and media jobs are imported when a command runs
    from alltoken_agent.media import MediaJobRecord
    from alltoken_agent.store import Store

jobs_app = typer.Typer(
    name="jobs",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

StatusOpt = Annotated[
    Literal["queued", "submitting", "pending", "completed", "failed", "cancelled", "expired"]
    | None,
    typer.Option("--status", help="Only jobs with this status.", show_default=False),
]
KindOpt = Annotated[
    Literal["image", "video"] | None,
    typer.Option("--kind", help="Only image or only video jobs.", show_default=False),
]


def _open_store() -> Store:
    from alltoken_agent.store import Store

    return Store()


def _find(store: Store, job_id: str) -> MediaJobRecord:
    record = store.media_jobs.find(job_id)
    if record is None:
        raise UserError(f"no media job {job_id!r} in the journal; `alltoken-agent jobs list`")
    return record


@jobs_app.callback(invoke_without_command=True)
def jobs(ctx: typer.Context) -> None:
    """Image and video jobs in the local journal: list, show, resume, cancel.

    Every job is journaled before it is submitted, so an interrupted one can be
    finished later without paying again. With no command, lists recent jobs.

    \b
    Examples:
      alltoken-agent jobs
      alltoken-agent jobs list --status pending --json
      alltoken-agent jobs show job_0123456789abcdef
      alltoken-agent jobs resume                  # every pending job
      alltoken-agent jobs resume job_0123456789abcdef --base-url http://127.0.0.1:8765/v1
      alltoken-agent jobs cancel job_0123456789abcdef
      alltoken-agent jobs discard job_0123456789abcdef   # one never sent
    """
    if ctx.invoked_subcommand is None:
        list_jobs()


@jobs_app.command("list")
def list_jobs(
    status: StatusOpt = None,
    kind: KindOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 20,
    json_output: JsonOpt = False,
) -> None:
    """List journaled jobs, newest first (one `job` event per job with --json).

    \b
    Examples:
      alltoken-agent jobs list
      alltoken-agent jobs list --status pending --kind video
      alltoken-agent jobs list --limit 100 --json | jq -r .id
    """
    writer = EventWriter(enabled=json_output)

    async def main() -> None:
        with _open_store() as store:
            statuses = [status] if status else None
            records = store.media_jobs.list_jobs(kind=kind, statuses=statuses, limit=limit)
        if writer.enabled:
            for record in records:
                writer.emit("job", **record.to_dict(), never_sent=record.never_sent)
            return
        if not records:
            if status or kind:
                what = " ".join(word for word in (status, kind) if word)
                say(f"no {what} jobs in the journal")
            else:
                say("no media jobs in the journal yet")
            return
        rows = [
            [r.id, r.kind, _status(r), r.model, r.created_at.strftime("%Y-%m-%d %H:%M"), _where(r)]
            for r in records
        ]
        columns = ["JOB", "KIND", "STATUS", "MODEL", "CREATED (UTC)", "FILES"]
        render_table([(name, "left") for name in columns], rows)

    run_command(main, writer)


@jobs_app.command("show")
def show(
    job_id: Annotated[str, typer.Argument(help="A job id (job_...) or the gateway's task id.")],
    json_output: JsonOpt = False,
) -> None:
    """Show everything the journal knows about one job.

    \b
    Examples:
      alltoken-agent jobs show job_0123456789abcdef
      alltoken-agent jobs show vgen_abc123 --json
    """
    writer = EventWriter(enabled=json_output)

    async def main() -> None:
        with _open_store() as store:
            record = _find(store, job_id)
        if writer.enabled:
            writer.emit("job", **record.to_dict())
            return
        from alltoken_agent.cli._jobs_show import job_lines

        for line in job_lines(record):
            print(line)
        if record.status == "queued":
            say(
                "this job waits for a worker (`alltoken-agent worker --watch` on its store "
                "takes it; nothing is sent until then): `alltoken-agent jobs cancel "
                f"{record.id}` takes it off the queue"
            )
        elif record.never_sent:
            say(
                f"this job was never sent: `alltoken-agent jobs resume {record.id} --yes` "
                f"sends it, `alltoken-agent jobs discard {record.id}` forgets it"
            )
        elif not record.finished:
            say(f"this job is unfinished: `alltoken-agent jobs resume {record.id}` finishes it")

    run_command(main, writer)


@jobs_app.command("resume")
def resume(
    job_id: Annotated[
        str | None,
        typer.Argument(
            help="The job to finish; every pending job when omitted.", show_default=False
        ),
    ] = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    timeout: MediaTimeoutOpt = None,
    idle_timeout: MediaIdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
    resubmit: Annotated[
        bool,
        typer.Option(
            "--resubmit",
            help="Send the job again although its first submit may have reached the "
            "gateway (its answer was lost), so it may be billed twice. Needs JOB_ID.",
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Send jobs that were never sent (interrupted before their submit) "
            "without asking; they are billed like a new job.",
        ),
    ] = False,
) -> None:
    """Finish pending jobs: poll their tasks and save the results, never submitting twice.

    Without provider flags each job goes back to the provider and URL it was made on.
    A job whose submit was sent but never answered is not sent again on its own (the
    gateway may have taken and billed it), unless you pass --resubmit with its id.
    A job interrupted before it was ever sent is sent only when you say so: asked on
    a terminal, or --yes (`jobs discard JOB_ID` forgets it instead). A job another
    process is finishing is waited for, not raced.

    \b
    Examples:
      alltoken-agent jobs resume
      alltoken-agent jobs resume job_0123456789abcdef
      alltoken-agent jobs resume --base-url http://127.0.0.1:8765/v1 --json
      alltoken-agent jobs resume job_0123456789abcdef --resubmit
      alltoken-agent jobs resume job_0123456789abcdef --yes
    """
    flags = GatewayOptions(
        provider=provider,
        base_url=base_url,
        offline=offline,
        timeout=timeout,
        idle_timeout=idle_timeout,
        verbose=verbose,
    )
    writer = EventWriter(enabled=json_output)
    display = JobDisplay(writer)

    async def main() -> int:
        if resubmit and not job_id:
            raise UserError(
                "--resubmit needs a JOB_ID: it sends one job again that may already be billed"
            )
        from alltoken_agent.media import Media

        with _open_store() as store:
            records = [_find(store, job_id)] if job_id else store.media_jobs.unfinished()
            if not records:
                say("no pending media jobs")
                return 0
            choice = {r.id: send_now(r) for r in records if r.never_sent and not yes}
            held = [job for job, answer in choice.items() if answer is None]
            records = [r for r in records if choice.get(r.id, True)]
            display.unfinished.update({r.id: r.kind for r in records if not r.finished})
            config = load_user_config()
            codes: list[int] = []
            for options, group in job_groups(records, flags).items():
                async with open_gateway(
                    options, on_retry=retry_notices(writer, options)
                ) as gateway:
                    await observing_ledger(gateway, store, config)
                    codes += await resume_all(
                        Media(gateway, store),
                        group,
                        display,
                        writer,
                        resubmit,
                        download_limits(config),
                    )
            # Jobs left unsent ask for a decision: a usage problem, not a failure.
            return next((code for code in codes if code), USAGE if held else 0)

    run_media_command(main, writer, display)


@jobs_app.command("cancel")
def cancel(
    job_id: Annotated[str, typer.Argument(help="The video job to cancel (job id or task id).")],
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Cancel a video job on the gateway (AllToken), or any job still waiting for a worker.

    A job a server queued for workers (`queued`: no worker has taken it) is taken off the
    queue here, image or video, with no gateway call: it was never sent, nothing is paid.

    \b
    Examples:
      alltoken-agent jobs cancel job_0123456789abcdef
      alltoken-agent jobs cancel vgen_abc123 --json
    """
    flags = GatewayOptions(provider=provider, base_url=base_url, offline=offline, verbose=verbose)
    writer = EventWriter(enabled=json_output)
    display = JobDisplay(writer)

    async def main() -> int:
        from alltoken_agent.media import Media

        with _open_store() as store:
            record = _find(store, job_id)
            if record.status == "queued":
                if _take_off_the_queue(store, record, writer):
                    return 0
                record = _find(store, record.id)
            ((options, _),) = job_groups([record], flags).items()
            async with open_gateway(options, on_retry=retry_notices(writer, options)) as gateway:
                task = await Media(gateway, store).cancel(record.id)
        writer.emit("job:cancelled", job_id=record.id, task_id=task.id, status=task.status)
        if not writer.enabled:
            say(f"video job {record.id} (task {task.id}) is {task.status}")
        return 0

    run_media_command(main, writer, display)


@jobs_app.command("discard")
def discard(
    job_id: Annotated[str, typer.Argument(help="The job to forget (job id).")],
    json_output: JsonOpt = False,
) -> None:
    """Forget a job that was never sent (interrupted before its submit: nothing was paid).

    A job that was sent, even one whose answer was lost, is kept: it may be paid for.

    \b
    Examples:
      alltoken-agent jobs discard job_0123456789abcdef
    """
    writer = EventWriter(enabled=json_output)

    async def main() -> None:
        with _open_store() as store:
            record = _find(store, job_id)
            if not record.never_sent:
                raise UserError(
                    f"{record.kind} job {record.id} was sent to the gateway ({record.status}) "
                    "and may be paid for, so it is kept; `alltoken-agent jobs resume "
                    f"{record.id}` finishes it"
                )
            if not store.media_jobs.discard_unsent(record.id):
                raise UserError(
                    f"{record.kind} job {record.id} is being sent by another process right "
                    "now, so it is kept"
                )
        writer.emit("job:discarded", job_id=record.id, kind=record.kind)
        if not writer.enabled:
            say(f"forgot {record.kind} job {record.id} (it was never sent)")

    run_command(main, writer)


def _take_off_the_queue(store: Store, record: MediaJobRecord, writer: EventWriter) -> bool:
    """Cancel a job waiting for a worker by the server's one conditional UPDATE.

    False: a worker took it first (the caller goes on with the job as it is now).

    Raises:
        UserError: A worker took it and has not sent it yet: nothing to cancel on the
            gateway so far.
    """
    from alltoken_agent.store.media_queue import MediaJobQueue

    cancelled = MediaJobQueue.of(store).cancel(record.id, owner=record.owner)
    if cancelled is None:
        now = store.media_jobs.get(record.id, owner=record.owner)
        if now is not None and not now.finished and now.task_id is None:
            raise UserError(
                f"{record.kind} job {record.id} was taken by a worker just now and is being "
                f"sent; `alltoken-agent jobs show {record.id}` says when it is running"
            )
        return False
    writer.emit(
        "job:cancelled", job_id=record.id, task_id=None, status="cancelled", never_sent=True
    )
    if not writer.enabled:
        say(
            f"{record.kind} job {record.id} was waiting for a worker and is cancelled: "
            "it was never sent, so nothing was paid"
        )
    return True


def _status(record: MediaJobRecord) -> str:
    if record.status == "queued":
        return "queued (waiting for a worker)"
    return f"{record.status} (never sent)" if record.never_sent else record.status


def _where(record: MediaJobRecord) -> str:
    if record.files:
        return ", ".join(str(entry.get("path")) for entry in record.files)
    return record.output_path

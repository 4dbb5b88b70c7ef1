"""`alltoken-agent worker`: run the batch lines and media jobs queued in a shared store."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alltoken_agent.cli._batch_options import BudgetOpt, ConcurrencyOpt, StoreOpt
from alltoken_agent.cli.exit_codes import BUDGET, FAILURE, OK, describe, exit_code_for
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    IdleTimeoutOpt,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    TimeoutOpt,
    VerboseOpt,
    load_user_config,
    observing_ledger,
    open_gateway,
)
from alltoken_agent.cli.output import EventWriter, run_command

if TYPE_CHECKING:
    from alltoken_agent.batch import BatchRunner, BatchSummary
    from alltoken_agent.batch.media_queue import MediaQueueRunner

MEDIA_DIR_ENV = "ALLTOKEN_AGENT_SERVER_MEDIA_DIR"
"""The variable of ``serve --media-dir`` (named here: the server is not imported for a
worker), so a worker beside a server finds its jobs without being told."""
WATCH_EVERY = 0.5
"""Seconds between two looks at an empty media job queue with --watch."""
LINES_EVERY = 2.0
"""Seconds between two passes over the batch lines with --watch, when the last found none
(lines wait for no client; each pass takes a look per concurrency slot)."""


def worker(
    store: StoreOpt = None,
    concurrency: ConcurrencyOpt = 4,
    budget: BudgetOpt = None,
    media_dir: Annotated[
        Path | None,
        typer.Option(
            "--media-dir",
            help="The servers' media folder: image and video jobs a server journaled with "
            "their files in it, that no server is finishing, are finished here too; "
            "default: media/server in the data folder, as for serve. "
            f"Env: {MEDIA_DIR_ENV}.",
            envvar=MEDIA_DIR_ENV,
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running and take new work as it is queued (a server's jobs with "
            '[server] media_jobs = "workers" at once), until Ctrl-C or SIGTERM; '
            "without it the worker stops once nothing is left.",
        ),
    ] = False,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = None,
    idle_timeout: IdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Take queued batch lines and media jobs from the store and run them until none is left.

    Several workers (on several machines, with a postgresql:// store) share one
    queue: each line is taken by one of them only (FOR UPDATE SKIP LOCKED on
    PostgreSQL; a conditional UPDATE on SQLite, for one machine). A worker that dies
    leaves its lines to the others once their lease runs out. --model is used only
    for lines that name no model and were queued without --model. Collect the output
    with the same `batch` command run without --queue.

    Lines are `batch --queue` lines (agent turns, image and video jobs) and `image` or
    `video --batch FILE --queue` jobs. A worker also finishes the image and video jobs
    servers accepted (POST /v1/images, /v1/videos) that no server is finishing (it
    stopped or died): one the gateway took is polled, never submitted again. With
    `serve --media-jobs workers` the servers run no job: they queue each one, and
    workers started with --watch take it at once.

    \b
    Examples:
      alltoken-agent worker --store postgresql://host/db --concurrency 8
      alltoken-agent worker --budget 2.00
      alltoken-agent worker --watch --store postgresql://host/db --media-dir /srv/media
    """
    options = GatewayOptions(
        provider=provider,
        base_url=base_url,
        model=model,
        offline=offline,
        timeout=timeout,
        idle_timeout=idle_timeout,
        verbose=verbose,
    )
    code: list[int] = [OK]

    async def main() -> None:
        code[0] = await _work(
            options,
            store_url=store,
            concurrency=concurrency,
            budget=None if budget is None else Decimal(str(budget)),
            media_dir=media_dir,
            watch=watch,
        )

    run_command(main, EventWriter(enabled=False))
    if code[0] != OK:
        raise typer.Exit(code[0])


async def _work(
    options: GatewayOptions,
    *,
    store_url: str | None,
    concurrency: int,
    budget: Decimal | None,
    media_dir: Path | None,
    watch: bool = False,
) -> int:
    from alltoken_agent.batch import BatchRunner, BatchSummary
    from alltoken_agent.batch.media_input import media_folder
    from alltoken_agent.batch.media_queue import MediaQueueRunner
    from alltoken_agent.media import DownloadLimits, Media
    from alltoken_agent.paths import app_dirs
    from alltoken_agent.store import Store
    from alltoken_agent.store.batches import BatchRepository
    from alltoken_agent.store.media_queue import MediaJobQueue

    config = load_user_config()
    folder = media_folder(media_dir or app_dirs().data / "media" / "server")
    if watch and not Path(folder).is_dir():
        print(
            f"alltoken-agent: warning: the media folder {folder} does not exist here; a "
            "server's jobs are saved where the server serves them only if this is the "
            "same (shared) folder, at the same path",
            file=sys.stderr,
        )
    jobs = lines = BatchSummary()
    with Store(store_url) as db:
        async with open_gateway(options) as gateway:
            media = Media(gateway, db)  # journaled where every worker sees the jobs
            ledger = await observing_ledger(gateway, db, config)
            runner = MediaQueueRunner(
                MediaJobQueue.of(db),
                gateway,
                folder=folder,
                concurrency=concurrency,
                budget_usd=budget,
                prices=ledger.prices,
                limits=DownloadLimits.from_megabytes(
                    config.media.max_image_mb, config.media.max_video_mb
                ),
                media=media,
                watch=WATCH_EVERY if watch else None,
            )

            def lines_runner(already_spent: Decimal) -> BatchRunner:
                return BatchRunner(
                    BatchRepository.of(db),
                    gateway,
                    concurrency=concurrency,
                    budget_usd=budget,
                    already_spent=already_spent,
                    config=config,
                    prices=ledger.prices,
                    media=media,
                )

            if watch:
                lines = BatchSummary()
                try:
                    await asyncio.gather(runner.run(), _watch_lines(runner, lines_runner, lines))
                finally:
                    jobs = runner.summary
                    # A signal may end the watch before the runners note whom they
                    # talked to: simulated spend must still be said to be simulated.
                    jobs.simulated = lines.simulated = jobs.simulated or gateway.simulated
                    _report(jobs, lines)
            else:
                jobs = await runner.run()
                if jobs.fatal is None and not jobs.budget_stopped:
                    lines = await lines_runner(jobs.spent).run()
                _report(jobs, lines)
    fatal = jobs.fatal or lines.fatal
    if fatal is not None:
        print(describe(fatal), file=sys.stderr)
        return exit_code_for(fatal)
    if jobs.budget_stopped or lines.budget_stopped:
        return BUDGET
    return FAILURE if jobs.failed or lines.failed else OK


async def _watch_lines(
    runner: MediaQueueRunner,
    lines_runner: Callable[[Decimal], BatchRunner],
    total: BatchSummary,
) -> None:
    """Run the queued batch lines, pass after pass, while ``runner`` takes media jobs.

    The media runner's budget sees every request of this worker, so each pass starts
    from its total; a pass that stops new work (a fatal error, the budget) stops both.
    ``total`` adds up the passes, the one a signal cut short included.
    """
    while not runner.stopping:
        spent = runner.budget.total if runner.budget is not None else Decimal(0)
        lines = lines_runner(spent)
        try:
            await lines.run()
        finally:
            _add(total, lines.summary)
        if lines.summary.fatal is not None or lines.summary.budget_stopped:
            runner.stop()
            return
        ran = lines.summary.ok + lines.summary.failed
        await asyncio.sleep(WATCH_EVERY if ran else LINES_EVERY)


def _add(total: BatchSummary, done: BatchSummary) -> None:
    total.ok += done.ok
    total.failed += done.failed
    total.spent += done.spent
    total.unknown_costs += done.unknown_costs
    total.simulated = total.simulated or done.simulated
    total.fatal = total.fatal or done.fatal
    total.budget_stopped = total.budget_stopped or done.budget_stopped


def _report(jobs: BatchSummary, lines: BatchSummary) -> None:
    from alltoken_agent.cli._batch_output import spend_text

    if jobs.ok + jobs.failed:
        count = jobs.ok + jobs.failed
        plural = "s" if count != 1 else ""
        done = f"alltoken-agent: worker finished {count} media job{plural} servers accepted"
        print(f"{done}: {jobs.ok} ok, {jobs.failed} failed; {spend_text(jobs)}", file=sys.stderr)
    ran = lines.ok + lines.failed
    line = f"alltoken-agent: worker ran {ran} line{'' if ran == 1 else 's'}: {lines.ok} ok"
    print(f"{line}, {lines.failed} failed; {spend_text(lines)}", file=sys.stderr)

"""`alltoken-agent worker`: run batch lines that `batch --queue` journaled in a shared store."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

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

MEDIA_DIR_ENV = "ALLTOKEN_AGENT_SERVER_MEDIA_DIR"
"""The variable of ``serve --media-dir`` (named here: the server is not imported for a
worker), so a worker beside a server finds its jobs without being told."""


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
    stopped or died): one the gateway took is polled, never submitted again.

    \b
    Examples:
      alltoken-agent worker --store postgresql://host/db --concurrency 8
      alltoken-agent worker --budget 2.00
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
) -> int:
    from alltoken_agent.batch import BatchRunner, BatchSummary
    from alltoken_agent.batch.media_input import media_folder
    from alltoken_agent.batch.media_queue import MediaQueueRunner
    from alltoken_agent.cli._batch_output import spend_text
    from alltoken_agent.media import DownloadLimits, Media
    from alltoken_agent.paths import app_dirs
    from alltoken_agent.store import Store
    from alltoken_agent.store.batches import BatchRepository
    from alltoken_agent.store.media_queue import MediaJobQueue

    config = load_user_config()
    folder = media_folder(media_dir or app_dirs().data / "media" / "server")
    with Store(store_url) as db:
        async with open_gateway(options) as gateway:
            media = Media(gateway, db)  # journaled where every worker sees the jobs
            ledger = await observing_ledger(gateway, db, config)
            jobs = await MediaQueueRunner(
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
            ).run()
            lines = BatchSummary()
            if jobs.fatal is None and not jobs.budget_stopped:
                lines = await BatchRunner(
                    BatchRepository.of(db),
                    gateway,
                    concurrency=concurrency,
                    budget_usd=budget,
                    already_spent=jobs.spent,
                    config=config,
                    prices=ledger.prices,
                    media=media,
                ).run()
    if jobs.ok + jobs.failed:
        done = f"alltoken-agent: worker finished {jobs.ok + jobs.failed} media jobs servers left"
        print(f"{done}: {jobs.ok} ok, {jobs.failed} failed; {spend_text(jobs)}", file=sys.stderr)
    line = f"alltoken-agent: worker ran {lines.ok + lines.failed} lines: {lines.ok} ok"
    print(f"{line}, {lines.failed} failed; {spend_text(lines)}", file=sys.stderr)
    fatal = jobs.fatal or lines.fatal
    if fatal is not None:
        print(describe(fatal), file=sys.stderr)
        return exit_code_for(fatal)
    if jobs.budget_stopped or lines.budget_stopped:
        return BUDGET
    return FAILURE if jobs.failed or lines.failed else OK

"""`alltoken-agent worker`: run batch lines that `batch --queue` journaled in a shared store."""

from __future__ import annotations

import sys
from decimal import Decimal

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


def worker(
    store: StoreOpt = None,
    concurrency: ConcurrencyOpt = 4,
    budget: BudgetOpt = None,
    model: ModelOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = None,
    idle_timeout: IdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Take queued batch lines from the store and run them until none is left.

    Several workers (on several machines, with a postgresql:// store) share one
    queue: each line is taken by one of them only (FOR UPDATE SKIP LOCKED on
    PostgreSQL; a conditional UPDATE on SQLite, for one machine). A worker that dies
    leaves its lines to the others once their lease runs out. --model is used only
    for lines that name no model and were queued without --model. Collect the output
    with the same `batch` command run without --queue.

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
        )

    run_command(main, EventWriter(enabled=False))
    if code[0] != OK:
        raise typer.Exit(code[0])


async def _work(
    options: GatewayOptions, *, store_url: str | None, concurrency: int, budget: Decimal | None
) -> int:
    from alltoken_agent.batch import BatchRunner
    from alltoken_agent.cli._batch_output import spend_text
    from alltoken_agent.store import Store
    from alltoken_agent.store.batches import BatchRepository

    config = load_user_config()
    with Store(store_url) as db:
        async with open_gateway(options) as gateway:
            gateway.store = db  # media lines journal their jobs where every worker sees them
            ledger = await observing_ledger(gateway, db, config)
            runner = BatchRunner(
                BatchRepository.of(db),
                gateway,
                concurrency=concurrency,
                budget_usd=budget,
                config=config,
                prices=ledger.prices,
            )
            summary = await runner.run()
    line = f"alltoken-agent: worker ran {summary.ok + summary.failed} lines: {summary.ok} ok"
    print(f"{line}, {summary.failed} failed; {spend_text(summary)}", file=sys.stderr)
    if summary.fatal is not None:
        print(describe(summary.fatal), file=sys.stderr)
        return exit_code_for(summary.fatal)
    if summary.budget_stopped:
        return BUDGET
    return FAILURE if summary.failed else OK

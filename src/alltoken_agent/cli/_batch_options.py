"""Flags that `batch` and `worker` share."""

from __future__ import annotations

from typing import Annotated

import typer

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Database URL of the journal (postgresql://... lets workers on other machines "
        "take lines); default: the local SQLite file.",
        show_default=False,
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, max=64, help="Lines in flight at once.")
]
BudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--budget",
        min=0.0,
        help="Take no new line once the next one could cross this many USD; lines not "
        "run are budget_exceeded errors, run by a re-run with a larger budget.",
        show_default=False,
    ),
]
MediaQueueOpt = Annotated[
    bool,
    typer.Option(
        "--queue",
        help="With --batch: only journal the jobs (in --store) for `alltoken-agent worker`s "
        "to make; prints the batch id.",
    ),
]
MediaStoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Database URL of the job journal (with --queue, postgresql://... lets workers "
        "on other machines take the jobs); default: the local SQLite file.",
        show_default=False,
    ),
]

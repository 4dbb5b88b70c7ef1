"""The options ``image`` and ``video`` share, defined once, and the command they make.

Each command is written as a function of its own job options (and the ``--model``
given) that returns the job's settings; :func:`media_command` puts the prompt argument
and ``-o/--output`` before them, and ``--model`` and the options every media command
takes after them (:func:`_shared`), then runs the jobs through ``run_generate``. Typer
reads the combined signature, so ``--help`` lists the options in that order.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from alltoken_agent.cli._batch_options import MediaQueueOpt, MediaStoreOpt
from alltoken_agent.cli.media import run_generate
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    JsonOpt,
    MediaIdleTimeoutOpt,
    MediaTimeoutOpt,
    OfflineOpt,
    ProviderOpt,
    VerboseOpt,
)

OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="File or folder to save to (a folder gets JOB_ID.EXT; with --batch, "
        "LINE-PROMPT-WORDS.EXT); default: this folder.",
        show_default=False,
    ),
]
BatchOpt = Annotated[
    Path | None,
    typer.Option(
        "--batch",
        help="A text file with one prompt per line (blank lines and # comments skipped).",
        exists=True,
        dir_okay=False,
        show_default=False,
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, max=64, help="Jobs at once with --batch.")
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace a file already at -o; without it the result is saved beside it "
        "(NAME-1.EXT) and stderr says so.",
    ),
]

JobOptions = Callable[..., dict[str, Any]]
"""A command's own part: ``(**its options, *, model) -> the job's settings``."""


def _shared(
    batch: BatchOpt = None,
    concurrency: ConcurrencyOpt = 1,  # each command gives its own default
    overwrite: OverwriteOpt = False,
    queue: MediaQueueOpt = False,
    store_url: MediaStoreOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    timeout: MediaTimeoutOpt = None,
    idle_timeout: MediaIdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """The options every media command takes after its own (only its signature is read)."""


def _parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """``function``'s parameters with their annotations evaluated (Typer reads them)."""
    hints = typing.get_type_hints(function, include_extras=True)
    return [
        parameter.replace(annotation=hints.get(name, parameter.annotation))
        for name, parameter in inspect.signature(function).parameters.items()
    ]


def media_command(
    kind: Literal["image", "video"], *, prompt_help: str, model_help: str, concurrency: int
) -> Callable[[JobOptions], Callable[..., None]]:
    """Make the ``kind`` command of a function of its own job options.

    The function takes its options (Typer's annotations say how to read each) and, as
    a keyword-only argument, the ``--model`` given (None: not given).

    Args:
        kind: Which jobs the command runs.
        prompt_help: The prompt argument's help.
        model_help: ``--model``'s help, which names the default.
        concurrency: Jobs at once with ``--batch`` when ``--concurrency`` is not given.
    """
    prompt_type = Annotated[str | None, typer.Argument(help=prompt_help, show_default=False)]
    model_type = Annotated[
        str | None, typer.Option("--model", "-m", help=model_help, show_default=False)
    ]

    def make(job_options: JobOptions) -> Callable[..., None]:
        keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
        prompt = inspect.Parameter("prompt", keyword, default=None, annotation=prompt_type)
        output = inspect.Parameter("output", keyword, default=None, annotation=OutputOpt)
        model = inspect.Parameter("model", keyword, default=None, annotation=model_type)
        own = [p for p in _parameters(job_options) if p.kind is not p.KEYWORD_ONLY]
        shared = [
            p.replace(default=concurrency) if p.name == "concurrency" else p
            for p in _parameters(_shared)
        ]
        parameters = [prompt, output, *own, model, *shared]

        @functools.wraps(job_options)
        def command(**values: Any) -> None:
            run = {p.name: values.pop(p.name) for p in shared}
            prompt, output = values.pop("prompt"), values.pop("output")
            settings = {**job_options(**values), "overwrite": run["overwrite"]}
            flags = GatewayOptions(
                provider=run["provider"], base_url=run["base_url"], offline=run["offline"],
                timeout=run["timeout"], idle_timeout=run["idle_timeout"], verbose=run["verbose"],
            )  # fmt: skip
            run_generate(
                kind, prompt, settings, batch=run["batch"], output=output,
                concurrency=run["concurrency"], queue=run["queue"], store_url=run["store_url"],
                flags=flags, json_output=run["json_output"],
            )  # fmt: skip

        command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return command

    return make

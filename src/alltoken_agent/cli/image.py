"""`alltoken-agent image`: generate images (one prompt, or a batch file), saved to disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from alltoken_agent import UserError
from alltoken_agent.cli._batch_options import MediaQueueOpt, MediaStoreOpt
from alltoken_agent.cli.chat import read_prompt
from alltoken_agent.cli.media import (
    JobDisplay,
    download_limits,
    report_failure,
    run_media_command,
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
from alltoken_agent.cli.output import EventWriter

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


BatchPrompt = tuple[int, str]
"""A prompt and the line of the batch file it is on (0 for a single prompt)."""


def read_batch(path: Path) -> list[BatchPrompt]:
    """The prompts of a batch file with their line numbers; blank lines and ``#`` skipped."""
    from alltoken_agent.cli._input import read_text_file

    lines = read_text_file(path, "the batch file").splitlines()
    prompts = [
        (number, line.strip())
        for number, line in enumerate(lines, 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not prompts:
        raise UserError(f"the batch file {path} holds no prompt")
    return prompts


def prompts_of(prompt: str | None, batch: Path | None) -> list[BatchPrompt]:
    """The prompts to run: the batch file's, or the one prompt (argument or stdin)."""
    if batch is not None:
        if prompt is not None:
            raise UserError("pass either PROMPT or --batch FILE, not both")
        return read_batch(batch)
    return [(0, read_prompt(prompt))]


async def run_jobs(
    api: Any, prompts: list[BatchPrompt], concurrency: int, writer: EventWriter, **options: Any
) -> int:
    """Run one job, or a batch (each failure reported on its own); return the exit code.

    A batch names each file after its prompt and line (``003-a-red-fox-in-snow.png``)
    and its ``--json`` events carry that ``line`` and ``prompt``.
    """
    from alltoken_agent.media.files import (
        check_target,
        is_folder,
        named_target,
        output_target,
        prompt_slug,
    )

    folder = output_target(options["save_to"])
    if len(prompts) == 1 and (prompts[0][0] == 0 or not is_folder(folder)):
        await api.generate(prompts[0][1], **options)  # one prompt: -o may name the file
        return 0
    import asyncio

    del options["save_to"]
    check_target(folder)  # once for all, before any job is paid for
    display = options.pop("on_progress")
    gate = asyncio.Semaphore(concurrency)

    async def one(line: int, prompt: str) -> Exception | None:
        def progress(event: Any) -> None:
            display(event, line=line, prompt=prompt)

        target = named_target(folder, prompt_slug(prompt, line))
        async with gate:
            try:
                await api.generate(prompt, save_to=target, on_progress=progress, **options)
            except Exception as error:  # reported in its slot; the others go on
                return error
        return None

    results = await asyncio.gather(*(one(line, prompt) for line, prompt in prompts))
    codes = [
        report_failure(writer, result, index=index, line=line, prompt=prompt)
        for index, ((line, prompt), result) in enumerate(zip(prompts, results, strict=True))
        if result is not None
    ]
    return codes[0] if codes else 0


def image(
    prompt: Annotated[
        str | None,
        typer.Argument(help="What to draw; read from stdin if omitted.", show_default=False),
    ] = None,
    output: OutputOpt = None,
    size: Annotated[
        str | None,
        typer.Option(
            help="auto or WIDTHxHEIGHT, e.g. 1024x1024 (gpt-image-2: multiples of 16).",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        Literal["auto", "low", "medium", "high"] | None,
        typer.Option(help="Rendering quality.", show_default=False),
    ] = None,
    fmt: Annotated[
        Literal["png", "jpeg", "webp"] | None,
        typer.Option(
            "--format",
            help="File format (default: from -o's extension, else png).",
            show_default=False,
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, max=10, help="Images per prompt.")] = 1,
    background: Annotated[
        Literal["auto", "opaque", "transparent"] | None,
        typer.Option(help="transparent needs png or webp.", show_default=False),
    ] = None,
    moderation: Annotated[
        Literal["auto", "low"] | None,
        typer.Option(help="Content moderation level (low: less strict).", show_default=False),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            # The media package (and the store behind it) is not imported for --help,
            # so the default is named here; a test checks it against DEFAULT_IMAGE_MODEL.
            help="Image model.  [default: gpt-image-2]",
            show_default=False,
        ),
    ] = None,
    batch: BatchOpt = None,
    concurrency: ConcurrencyOpt = 4,
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
    """Generate images and save them; the saved paths are printed on stdout.

    Every job is journaled before it is submitted: if the command is interrupted
    the job stays pending and `alltoken-agent jobs resume JOB_ID` saves the result
    without paying again.

    \b
    Examples:
      alltoken-agent image "a red fox in snow" -o fox.png
      alltoken-agent image "a lighthouse at dusk" --size 1536x1024 --quality high -o out/
      alltoken-agent image --batch prompts.txt --concurrency 8 -o out/ --json
      alltoken-agent image --batch prompts.txt --queue -o out/   # made by `worker`s
      alltoken-agent image --provider tokenhub -m wan2.6-t2i "a paper crane"
    """
    from alltoken_agent.media import DEFAULT_IMAGE_MODEL

    options = GatewayOptions(
        provider=provider,
        base_url=base_url,
        offline=offline,
        timeout=timeout,
        idle_timeout=idle_timeout,
        verbose=verbose,
    )
    writer = EventWriter(enabled=json_output)
    display = JobDisplay(writer)
    settings: dict[str, Any] = {
        "model": model or DEFAULT_IMAGE_MODEL,
        "size": size,
        "quality": quality,
        "output_format": fmt,
        "n": n,
        "background": background,
        "moderation": moderation,
        "overwrite": overwrite,
    }

    async def main() -> int:
        prompts = prompts_of(prompt, batch)
        save_to = save_target(output, len(prompts))
        if queue:
            if batch is None:
                raise UserError("--queue needs --batch FILE: it queues a batch for workers")
            from alltoken_agent.cli.batch import queue_media

            return await queue_media(
                "image", prompts, settings, batch_path=batch, save_to=save_to, store_url=store_url
            )
        from alltoken_agent.store import Store

        # One store for the job journal and the ledger: `usage` and the daily budget
        # then count media jobs as they count chat requests.
        config = load_user_config()
        with Store(store_url) as store:
            async with open_gateway(options, on_retry=retry_notices(writer, options)) as gateway:
                gateway.store = store
                await observing_ledger(gateway, store, config)
                return await run_jobs(
                    gateway.images, prompts, concurrency, writer,
                    save_to=save_to, on_progress=display,
                    limits=download_limits(config), **settings,
                )  # fmt: skip

    run_media_command(main, writer, display)


def save_target(output: Path | None, count: int) -> str | None:
    """Where jobs save: ``-o`` as given, a folder for a batch (never one file for many)."""
    if output is None:
        return None
    if count == 1:
        return str(output)
    if output.exists() and not output.is_dir():
        raise UserError(f"--batch saves many files: -o must be a folder, not the file {output}")
    return os.path.join(output, "")  # a trailing separator marks a folder

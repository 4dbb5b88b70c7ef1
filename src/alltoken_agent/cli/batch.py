"""`alltoken-agent batch`: one agent turn per line of a JSONL file, resumable after a crash."""

from __future__ import annotations

import hashlib
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alltoken_agent import UserError
from alltoken_agent.cli._batch_options import BudgetOpt, ConcurrencyOpt, StoreOpt
from alltoken_agent.cli.exit_codes import BUDGET, FAILURE, OK, exit_code_for
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
    from alltoken_agent.batch import BatchDefaults, BatchSummary, ParsedBatch
    from alltoken_agent.store.batches import BatchItem


def batch(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT.jsonl",
            help="One JSON object per line: prompt (required); model, tools, instructions, "
            "schema, id, kind (optional); image and video lines take their options (size, "
            "quality, format, n, duration, ratio, resolution, ...).",
            dir_okay=False,
        ),
    ],
    output_path: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where the output lines go (required unless --queue).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    tools: Annotated[
        str,
        typer.Option("--tools", help="Tools of lines that name none: default, none, or names."),
    ] = "default",
    schema_path: Annotated[
        Path | None,
        typer.Option(
            "--schema",
            help="A JSON schema file: lines without a schema reply with JSON of it (output).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="What lines that name no kind run: chat (an agent turn), image or video "
            "(one job each; --model is the default model of lines of this kind).",
        ),
    ] = "chat",
    media_dir: Annotated[
        Path | None,
        typer.Option(
            "--media-dir",
            help="Where image and video lines save their files (LINE-PROMPT-WORDS.EXT); "
            "default: OUTPUT's folder (with --queue: this folder).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    concurrency: ConcurrencyOpt = 4,
    budget: BudgetOpt = None,
    queue: Annotated[
        bool,
        typer.Option("--queue", help="Only journal the lines for `alltoken-agent worker`s."),
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Run again the lines an earlier run of this batch finished with an error "
            "(else their error lines are kept).",
        ),
    ] = False,
    store: StoreOpt = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    timeout: TimeoutOpt = None,
    idle_timeout: IdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run one agent turn per line of INPUT.jsonl and write one output line per input line.

    Output lines keep the input's order: line, id, model, text, output (with a schema),
    usage, cost (null when unknown) and error; an image or video line has kind, job_id
    and files (the saved paths) instead of text. Lines are journaled in the store, so
    running the same command again after a crash or Ctrl-C sends only the lines not
    finished yet and repeats the others' stored output (--retry-failed runs failed
    lines again).
    Lines appear in OUTPUT.partial as they finish; OUTPUT is written at the end.

    \b
    Examples:
      alltoken-agent batch prompts.jsonl -o answers.jsonl --concurrency 8
      alltoken-agent batch prompts.jsonl -o out.jsonl --budget 0.50 --schema person.json
      alltoken-agent batch pictures.jsonl -o out.jsonl --kind image --media-dir pictures/
      alltoken-agent batch prompts.jsonl --queue --store postgresql://host/db
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
        from alltoken_agent.agent import resolve_tool_names
        from alltoken_agent.batch import BatchDefaults
        from alltoken_agent.batch.media_input import KINDS, media_folder

        # In here, so a bad flag is one error line and exit 2 like every other failure.
        if output_path is None and not queue:
            raise UserError("give --output/-o OUTPUT.jsonl (or --queue to leave it to workers)")
        if output_path is not None and output_path.resolve() == input_path.resolve():
            raise UserError("the output file would overwrite the input file; give another -o")
        resolve_tool_names(tools)
        if kind not in KINDS:
            raise UserError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
        defaults = BatchDefaults(
            model=model,
            tools=tools,
            schema=_read_schema(schema_path),
            kind=kind,
            media_dir=None if media_dir is None else media_folder(media_dir),
        )
        code[0] = await _batch(
            input_path,
            output_path,
            defaults,
            options,
            concurrency=concurrency,
            budget=None if budget is None else Decimal(str(budget)),
            queue=queue,
            retry_failed=retry_failed,
            store_url=store,
        )

    run_command(main, EventWriter(enabled=False))
    if code[0] != OK:
        raise typer.Exit(code[0])


def _read_schema(path: Path | None) -> dict[str, Any] | None:
    from alltoken_agent.cli._input import read_text_file

    if path is None:
        return None
    try:
        schema = json.loads(read_text_file(path, "the schema file"))
    except (ValueError, RecursionError):
        raise UserError(f"the schema file {path} is not JSON") from None
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise UserError(f'the schema file {path} must hold a JSON schema with "type": "object"')
    return schema


def _read_input(path: Path, defaults: BatchDefaults, output_path: Path | None) -> ParsedBatch:
    from alltoken_agent.batch import parse_batch
    from alltoken_agent.batch.media_input import media_folder
    from alltoken_agent.cli._input import decode_text

    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror or error}") from None
    folder = media_folder(Path.cwd() if output_path is None else output_path.absolute().parent)
    text = decode_text(data, f"the input file {path}")
    parsed = parse_batch(text, data, defaults, media_dir=folder)
    if not parsed.items:
        raise UserError(f"the input file {path} holds no line; give one JSON object per line")
    return parsed


async def _batch(
    input_path: Path,
    output_path: Path | None,
    defaults: BatchDefaults,
    options: GatewayOptions,
    *,
    concurrency: int,
    budget: Decimal | None,
    queue: bool,
    retry_failed: bool,
    store_url: str | None,
) -> int:
    import asyncio

    from alltoken_agent.batch import BatchRunner
    from alltoken_agent.cli._batch_output import PartialFile, Progress
    from alltoken_agent.media import Media
    from alltoken_agent.store import Store
    from alltoken_agent.store.batches import BatchRepository

    parsed = _read_input(input_path, defaults, output_path)
    with Store(store_url) as db:
        repo = BatchRepository.of(db)
        created = await asyncio.to_thread(
            repo.open_run,
            parsed.run_id,
            input_sha256=parsed.input_sha256,
            input_name=str(input_path),
            settings=defaults.to_dict(),
            items=parsed.items,
        )
        if not created and retry_failed:
            await asyncio.to_thread(repo.requeue_failed, parsed.run_id)
        if queue:
            print(
                f"alltoken-agent: {len(parsed.items)} lines journaled as batch "
                f"{parsed.run_id}; run `alltoken-agent worker` to take them",
                file=sys.stderr,
            )
            return OK
        assert output_path is not None
        before = await asyncio.to_thread(repo.items, parsed.run_id)
        finals = [i for i in before if i.status in ("done", "failed", "invalid")]
        partial = PartialFile(output_path)
        for item in finals:
            if item.output is not None:
                partial.write(item.output)
        progress = Progress(total=len(before), done=len(finals))
        spent = sum((i.cost for i in before if i.cost is not None), Decimal(0))

        def on_output(output: dict[str, Any]) -> None:
            partial.write(output)

        config = load_user_config()
        try:
            async with open_gateway(options) as gateway:
                ledger = await observing_ledger(gateway, db, config)
                runner = BatchRunner(
                    repo,
                    gateway,
                    run_id=parsed.run_id,
                    concurrency=concurrency,
                    budget_usd=budget,
                    already_spent=spent,
                    config=config,
                    prices=ledger.prices,
                    on_output=on_output,
                    on_progress=progress.update,
                    wait_for_others=True,
                    media=Media(gateway, db),  # media lines journal their jobs beside the batch
                )
                summary = await runner.run()
        finally:
            progress.stop()
            partial.close()
        items = await asyncio.to_thread(repo.items, parsed.run_id)
        outputs = [_final_output(item, summary, budget) for item in items]
        from alltoken_agent.cli._batch_output import write_atomically

        write_atomically(output_path, outputs)
        partial.remove()
    return _report(items, summary)


def _final_output(item: BatchItem, summary: BatchSummary, budget: Decimal | None) -> dict[str, Any]:
    from alltoken_agent.batch import error_output
    from alltoken_agent.batch.media_line import is_media, media_output

    if item.output is not None and item.status != "queued":
        return item.output
    request = item.request or {}
    ident = request.get("id")
    if summary.budget_stopped:
        from alltoken_agent.money import format_usd

        limit = f" of {format_usd(budget)}" if budget is not None else ""
        message = (
            f"not run: the next line could cross the batch budget{limit}; "
            "run the command again with a larger --budget to run it"
        )
        error = {"code": "budget_exceeded", "message": message}
    else:
        reason = f"stopped by {summary.fatal}" if summary.fatal is not None else "stopped"
        error = {"code": "not_run", "message": f"not run: {reason}"}
    if is_media(request):
        kind = str(request["kind"])
        return media_output(item.line, ident, kind, model=request.get("model"), error=error)
    return error_output(item.line, ident, error)


def _report(items: list[BatchItem], summary: BatchSummary) -> int:
    from alltoken_agent.cli._batch_output import spend_text

    ok = sum(item.status == "done" for item in items)
    failed = sum(item.status in ("failed", "invalid") for item in items)
    not_run = len(items) - ok - failed
    lines = "line" if len(items) == 1 else "lines"
    line = f"alltoken-agent: batch of {len(items)} {lines}: {ok} ok, {failed} failed"
    if not_run:
        line += f", {not_run} not run"
        if summary.budget_stopped:
            line += " (budget)"
    print(f"{line}; this run {spend_text(summary)}", file=sys.stderr)
    if summary.fatal is not None:
        from alltoken_agent.cli.exit_codes import describe

        print(describe(summary.fatal), file=sys.stderr)
        return exit_code_for(summary.fatal)
    if summary.budget_stopped and not_run:
        return BUDGET
    return OK if failed == 0 and not_run == 0 else FAILURE


async def queue_media(
    kind: str,
    prompts: list[tuple[int, str]],
    settings: dict[str, Any],
    *,
    batch_path: Path,
    save_to: str | None,
    store_url: str | None,
) -> int:
    """``image``/``video --batch FILE --queue``: journal one media line per prompt, run none.

    ``settings`` are the command's job options (None: not given); the files go to
    ``save_to`` (a folder) or this folder, named as ``--batch`` names them.
    """
    import asyncio

    from alltoken_agent.batch.media_input import media_batch, media_folder
    from alltoken_agent.store import Store
    from alltoken_agent.store.batches import BatchRepository

    options = {
        name: str(Path(value).absolute()) if isinstance(value, Path) else value
        for name, value in settings.items()
        if value is not None and name != "model" and not (name == "overwrite" and not value)
    }
    try:
        data = batch_path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {batch_path}: {error.strerror or error}") from None
    folder = media_folder(save_to or Path.cwd())
    run_id, items = media_batch(
        data,
        prompts,
        "image" if kind == "image" else "video",
        model=settings.get("model"),
        options=options,
        media_dir=folder,
    )
    with Store(store_url) as db:
        created = await asyncio.to_thread(
            BatchRepository.of(db).open_run,
            run_id,
            input_sha256=hashlib.sha256(data).hexdigest(),
            input_name=str(batch_path),
            settings={"kind": kind, "options": options, "media_dir": folder},
            items=items,
        )
    said = "queued" if created else "were queued already"
    print(
        f"alltoken-agent: {len(items)} {kind} jobs {said} as batch {run_id}; run "
        "`alltoken-agent worker` (with the same --store) to make them; their files go "
        f"to {folder}",
        file=sys.stderr,
    )
    return OK

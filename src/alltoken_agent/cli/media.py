"""What the media commands share: their options and flow, job progress, failures as exit codes.

``image`` and ``video`` differ only in their job options: both read one prompt or a
batch file, journal and run the jobs through ``Media`` (or queue them for workers),
and report them here (``run_generate``).

Three views of the same ``JobEvent`` objects: ``--json`` prints them as NDJSON; on a
terminal a Rich progress display (status, elapsed time and, while downloading,
bytes) goes to stderr; piped, a few quiet lines go to stderr. Saved paths go to
stdout, one per line, so ``alltoken-agent image "..." | xargs open`` works.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer

from alltoken_agent import GatewayError, MediaJobError, UserError
from alltoken_agent.cli.exit_codes import FAILURE, describe, exit_code_for
from alltoken_agent.cli.options import (
    GatewayOptions,
    load_user_config,
    observing_ledger,
    open_gateway,
    retry_notices,
)
from alltoken_agent.cli.output import EventWriter, error_payload, run_command
from alltoken_agent.cli.terminal import rich_console

if TYPE_CHECKING:  # the media package (and the store behind it) is imported when jobs run
    from alltoken_agent import Config
    from alltoken_agent.media import DownloadLimits, ImagesAPI, JobEvent, VideosAPI

BatchPrompt = tuple[int, str]
"""A prompt and the line of the batch file it is on (0 for a single prompt)."""


def run_generate(
    kind: Literal["image", "video"],
    prompt: str | None,
    settings: dict[str, Any],
    *,
    batch: Path | None,
    output: Path | None,
    concurrency: int,
    queue: bool,
    store_url: str | None,
    flags: GatewayOptions,
    json_output: bool,
) -> None:
    """The ``image``/``video`` command: run (or queue) one job per prompt, report them.

    ``settings`` are the kind's job options (None: not given).
    """
    writer = EventWriter(enabled=json_output)
    display = JobDisplay(writer)

    async def main() -> int:
        prompts = prompts_of(prompt, batch)
        save_to = save_target(output, len(prompts))
        if queue:
            if batch is None:
                raise UserError("--queue needs --batch FILE: it queues a batch for workers")
            from alltoken_agent.cli.batch import queue_media

            return await queue_media(
                kind, prompts, settings, batch_path=batch, save_to=save_to, store_url=store_url
            )
        from alltoken_agent.media import Media
        from alltoken_agent.store import Store

        # One store for the job journal and the ledger: `usage` and the daily budget
        # then count media jobs as they count chat requests.
        config = load_user_config()
        with Store(store_url) as store:
            async with open_gateway(flags, on_retry=retry_notices(writer, flags)) as gateway:
                await observing_ledger(gateway, store, config)
                media = Media(gateway, store)
                return await run_jobs(
                    media.images if kind == "image" else media.videos,
                    prompts, concurrency, writer,
                    save_to=save_to, on_progress=display,
                    limits=download_limits(config), **settings,
                )  # fmt: skip

    run_media_command(main, writer, display)


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
    from alltoken_agent.cli.chat import read_prompt

    return [(0, read_prompt(prompt))]


def save_target(output: Path | None, count: int) -> str | None:
    """Where jobs save: ``-o`` as given, a folder for a batch (never one file for many)."""
    if output is None:
        return None
    if count == 1:
        return str(output)
    if output.exists() and not output.is_dir():
        raise UserError(f"--batch saves many files: -o must be a folder, not the file {output}")
    return os.path.join(output, "")  # a trailing separator marks a folder


async def run_jobs(
    api: ImagesAPI | VideosAPI,
    prompts: list[BatchPrompt],
    concurrency: int,
    writer: EventWriter,
    **options: Any,
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


def download_limits(config: Config) -> DownloadLimits:
    """The result download caps of the config's ``[media]`` section."""
    from alltoken_agent.media import DownloadLimits

    return DownloadLimits.from_megabytes(config.media.max_image_mb, config.media.max_video_mb)


def media_exit_code(error: BaseException) -> int:
    """MediaJobError: 1, unless a gateway error underlies it (then that error's code)."""
    if isinstance(error, MediaJobError):
        cause = error.__cause__
        return exit_code_for(cause) if isinstance(cause, GatewayError) else FAILURE
    return exit_code_for(error)


class JobDisplay:
    """Shows media job events and remembers which jobs are still unfinished."""

    def __init__(self, writer: EventWriter, *, live: bool | None = None) -> None:
        self.writer = writer
        self.live = (not writer.enabled and sys.stderr.isatty()) if live is None else live
        self.unfinished: dict[str, str] = {}
        """job id -> kind, from ``job:submitted`` until ``job:done``."""
        self.saved: list[Path] = []
        self._progress: Any = None
        self._rows: dict[str, Any] = {}

    def __call__(self, event: JobEvent, **context: Any) -> None:
        """The ``on_progress`` callback; ``context`` (a batch's line, prompt) goes to --json."""
        if event.name == "job:submitted":
            self.unfinished[event.job_id] = event.kind
        elif event.name == "job:done":
            self.unfinished.pop(event.job_id, None)
            self.saved.extend(event.paths)
        self._notice(event)
        if self.writer.enabled:
            self.writer.emit_event({**event.to_dict(), **context})
        elif self.live:
            self._show_live(event)
        else:
            self._show_line(event)

    def _notice(self, event: JobEvent) -> None:
        """What the user must hear in every mode (also with --json): a stderr line."""
        if event.name == "job:status" and event.status == "waiting":
            say(
                f"{event.kind} job {event.job_id} is being finished by another process; "
                "waiting for it"
            )
        elif event.name == "job:saved" and event.taken is not None:
            say(
                f"{event.taken} already exists, so {event.job_id} saved {event.path} beside "
                "it (--overwrite replaces it)"
            )

    def _show_line(self, event: JobEvent) -> None:
        if event.name == "job:submitted":
            task = f" (task {event.task_id})" if event.task_id else ""
            say(f"{event.kind} job {event.job_id} submitted to {event.model}{task}")
        elif event.name == "job:status" and event.status != "waiting":
            say(f"{event.job_id}: {event.status}")
        elif event.name == "job:saved":
            say(f"{event.job_id}: saved {event.path} ({event.size:,} bytes)")

    def _show_live(self, event: JobEvent) -> None:
        progress = self._progress or self._start()
        row = self._rows.get(event.job_id)
        if row is None:
            row = self._rows[event.job_id] = progress.add_task(
                f"{event.kind} {event.job_id}", total=None, status="submitted", size=""
            )
        if event.name == "job:status":
            progress.update(row, status=event.status)
        elif event.name == "job:download":
            size = _size(event.received) + (f" / {_size(event.total)}" if event.total else "")
            progress.update(row, status="downloading", size=size)
        elif event.name == "job:saved":
            progress.update(row, status=f"saved {event.path.name}", size=_size(event.size))
        elif event.name == "job:done":
            progress.update(row, status="done", total=1, completed=1)  # finished: no spinner
            progress.stop_task(row)

    def _start(self) -> Any:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[bold]{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[size]}"),
            console=rich_console(stderr=True),
        )
        self._progress.start()
        return self._progress

    def close(self) -> None:
        """Stop the live display (leaving its last state on screen)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def report_unfinished(self) -> None:
        """Tell the user how to finish jobs left pending (after Ctrl-C or a failure)."""
        from alltoken_agent.media import resume_hint

        for job_id, kind in self.unfinished.items():
            say(f"{kind} job {job_id} is still pending: {resume_hint(job_id)}")

    def print_saved(self) -> None:
        """Saved paths on stdout, one per line (not with --json: ``job:done`` has them)."""
        if not self.writer.enabled:
            for path in self.saved:
                print(path)


def _size(count: int) -> str:
    from rich.filesize import decimal

    return str(decimal(count))


def say(message: str) -> None:
    """One ``alltoken-agent:`` line on stderr."""
    print(f"alltoken-agent: {message}", file=sys.stderr)


def report_failure(writer: EventWriter, error: BaseException, **context: Any) -> int:
    """Report one failure as an ``error`` event (with --json) and a stderr line; return its code."""
    payload = error_payload(error)
    cause = error.__cause__
    if isinstance(error, MediaJobError) and isinstance(cause, GatewayError):
        payload["cause"] = error_payload(cause)
    writer.emit("error", **payload, **context)
    print(describe(error), file=sys.stderr)
    return media_exit_code(error)


def run_media_command(
    main: Callable[[], Coroutine[Any, Any, int]], writer: EventWriter, display: JobDisplay
) -> None:
    """Run a media command: its own failures map through ``media_exit_code``.

    ``main`` returns the exit code of failures it already reported (batches); an
    escaping ``MediaJobError`` is reported here; anything else goes to ``run_command``.
    Jobs left unfinished by Ctrl-C or an unexpected error get a resume hint.
    """
    outcome: list[int] = []

    async def guarded() -> None:
        try:
            outcome.append(await main())
        except MediaJobError as error:
            display.close()
            outcome.append(report_failure(writer, error))
        except (asyncio.CancelledError, Exception):
            display.close()
            display.report_unfinished()
            raise
        finally:
            display.close()

    run_command(guarded, writer)
    code = outcome[0] if outcome else 0
    display.print_saved()
    if code:  # each failure was reported with its own resume hint, where one applies
        raise typer.Exit(code)

"""What the media commands share: showing job progress, and failures as exit codes.

Three views of the same ``JobEvent`` objects: ``--json`` prints them as NDJSON; on a
terminal a Rich progress display (status, elapsed time and, while downloading,
bytes) goes to stderr; piped, a few quiet lines go to stderr. Saved paths go to
stdout, one per line, so ``alltoken-agent image "..." | xargs open`` works.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from alltoken_agent import GatewayError, MediaJobError
from alltoken_agent.cli.exit_codes import FAILURE, describe, exit_code_for
from alltoken_agent.cli.output import EventWriter, error_payload, run_command
from alltoken_agent.cli.terminal import rich_console

if TYPE_CHECKING:  # the media package (and the store behind it) is imported when jobs run
    from alltoken_agent import Config
    from alltoken_agent.media import DownloadLimits, JobEvent


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

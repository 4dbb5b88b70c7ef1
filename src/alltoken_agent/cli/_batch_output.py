"""The output side of `batch`: the .partial file, the final file, progress and the summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from alltoken_agent import UserError
from alltoken_agent._files import write_atomic
from alltoken_agent.batch import BatchSummary


def _line(output: dict[str, Any]) -> str:
    return json.dumps(output, ensure_ascii=False, default=str) + "\n"


def partial_path(path: Path) -> Path:
    """Where lines go as they finish: OUTPUT.partial beside OUTPUT."""
    return path.with_name(path.name + ".partial")


class PartialFile:
    """OUTPUT.partial: each line's output appended as it finishes (in finishing order)."""

    def __init__(self, path: Path) -> None:
        self.path = partial_path(path)
        try:
            self._file = self.path.open("w", encoding="utf-8")
        except OSError as error:
            raise UserError(f"cannot write {self.path}: {error.strerror or error}") from None

    def write(self, output: dict[str, Any]) -> None:
        """Append one line's output and flush it."""
        self._file.write(_line(output))
        self._file.flush()

    def close(self) -> None:
        """Close the file (it stays until the final file replaces it)."""
        self._file.close()

    def remove(self) -> None:
        """Delete the file once the final output is written."""
        self.close()
        self.path.unlink(missing_ok=True)


def write_atomically(path: Path, outputs: list[dict[str, Any]]) -> None:
    """Write the output lines to ``path`` all at once (the package's one atomic write)."""
    try:
        write_atomic(path, "".join(_line(output) for output in outputs))
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None


class Progress:
    """A progress bar with lines done and spend so far, on a terminal's stderr only."""

    def __init__(self, total: int, done: int) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._done = done
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[spend]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task("batch", total=total, completed=done, spend="")
        self._bar.start()

    def update(self, summary: BatchSummary) -> None:
        """Show the lines done and the spend so far."""
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=self._done + summary.ok + summary.failed,
                spend=spend_text(summary),
            )

    def stop(self) -> None:
        """Take the bar off the terminal."""
        if self._bar is not None:
            self._bar.stop()


def spend_text(summary: BatchSummary) -> str:
    """``spent $X`` for a person: unknown costs and simulated spend said as such."""
    text = f"spent ${summary.spent}"
    if summary.unknown_costs:
        text += f" + {summary.unknown_costs} line(s) of unknown cost"
    if summary.simulated:
        text += " (simulated)"
    return text

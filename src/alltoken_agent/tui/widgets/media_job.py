"""A media job in the chat: its progress while it runs, then what it saved."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from alltoken_agent.tui.media import MediaKind, MediaUnavailableError, generate
from alltoken_agent.tui.widgets.error_message import ErrorMessage
from alltoken_agent.tui.widgets.media_result import MediaResult

MEDIA_GROUP = "media"
"""Worker group of media jobs (Esc and Ctrl+C cancel it)."""


class MediaJob(Vertical):
    """Runs one ``/image`` or ``/video`` job in a worker and shows how it goes."""

    def __init__(self, gateway: object, kind: MediaKind, prompt: str, save_to: Path) -> None:
        super().__init__()
        self.gateway = gateway
        self.kind: MediaKind = kind
        self.prompt = prompt
        self.save_to = save_to
        self.status = f"{kind} job: submitting…"
        self._line = Static(self.status, markup=False, classes="media-status")

    def compose(self) -> ComposeResult:
        """The status line; results are mounted below it."""
        yield self._line

    def on_mount(self) -> None:
        """Start the job."""
        self.run_job()

    def set_status(self, text: str) -> None:
        """Show how the job is going."""
        self.status = text
        self._line.update(text)

    @work(group=MEDIA_GROUP, exit_on_error=False)
    async def run_job(self) -> None:
        """Submit, follow the progress, and show the saved files (or the error)."""
        kind = self.kind
        try:
            paths = await generate(
                self.gateway,
                kind,
                self.prompt,
                save_to=self.save_to,
                on_progress=lambda text: self.set_status(f"{kind} job: {text}"),
            )
        except MediaUnavailableError as error:
            self.set_status(str(error))
            return
        except asyncio.CancelledError:
            self.set_status(f"{kind} job: cancelled.")
            raise
        except Exception as error:  # shown in the chat, never a traceback
            self.set_status(f"{kind} job: failed.")
            await self.mount(ErrorMessage(error))
            return
        self.set_status(f"{kind} job: done.")
        await self.mount(MediaResult(kind, self.prompt, paths))

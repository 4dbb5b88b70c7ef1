"""A media job in the chat: its progress while it runs, then what it saved."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from alltoken_agent import request_tags
from alltoken_agent.tui.media import MediaKind, MediaUnavailableError, generate
from alltoken_agent.tui.widgets.error_message import ErrorMessage
from alltoken_agent.tui.widgets.media_result import MediaResult

MEDIA_GROUP = "media"
"""Worker group of media jobs (Esc and Ctrl+C cancel it)."""


class MediaJob(Vertical):
    """Runs one ``/image`` or ``/video`` job in a worker and shows how it goes."""

    class Finished(Message):
        """The job ended (done, failed or cancelled): its requests are all recorded."""

        def __init__(self, job: MediaJob, paths: list[Path]) -> None:
            super().__init__()
            self.job = job
            self.paths = paths
            """What it saved; empty when it failed or was cancelled."""

    def __init__(
        self,
        media: object,
        kind: MediaKind,
        prompt: str,
        save_to: Path,
        *,
        session: str | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        """The session name the job's requests are recorded under in the ledger."""
        self.job_id: str | None = None
        """The journal id, once the job is submitted."""
        self.media = media
        """The app's ``Media`` (its ``images`` and ``videos`` run the job)."""
        self.kind: MediaKind = kind
        self.prompt = prompt
        self.save_to = save_to
        self.status = f"{kind} job: submitting…"
        self.running = True
        """Until the job ends (done, failed or cancelled): the log keeps it mounted."""
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
        paths: list[Path] = []
        try:
            paths = await self._run()
        finally:
            self.running = False
            self.post_message(self.Finished(self, paths))

    def _learn_job_id(self, job_id: str) -> None:
        self.job_id = job_id

    async def _run(self) -> list[Path]:
        kind = self.kind
        try:
            with request_tags(session=self.session):
                paths = await generate(
                    self.media,
                    kind,
                    self.prompt,
                    save_to=self.save_to,
                    on_progress=lambda text: self.set_status(f"{kind} job: {text}"),
                    on_job_id=self._learn_job_id,
                )
        except MediaUnavailableError as error:
            self.set_status(str(error))
            return []
        except asyncio.CancelledError:
            if self.job_id is None:
                self.set_status(f"{kind} job: cancelled.")
            else:  # the journal keeps it: a paid result is never lost
                self.set_status(
                    f"{kind} job: cancelled here; `alltoken-agent jobs resume {self.job_id}` "
                    "finishes it without submitting again."
                )
            raise
        except Exception as error:  # shown in the chat, never a traceback
            self.set_status(f"{kind} job: failed.")
            await self.mount(ErrorMessage(error))
            return []
        self.set_status(f"{kind} job: done.")
        await self.mount(MediaResult(kind, self.prompt, paths))
        return paths

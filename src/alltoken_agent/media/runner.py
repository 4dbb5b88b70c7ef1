"""The life of one media job, shared by images and videos: submit, poll, finish.

The job is journaled (``submitting``) before its submit; the submit carries the job's
``Idempotency-Key`` on every try, and a ``409 duplicate_request`` naming the original
task continues with that task (§1.1, §3 row 7). Once accepted the job is ``pending``
with its task id, and polled until a final status. Waiting ends at the policy's
deadline, on Ctrl-C or on a crash with the job still ``pending``: ``jobs resume``
finishes it later without submitting again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from alltoken_agent.errors import ConflictError, GatewayError, GoneError, MediaJobError
from alltoken_agent.media._journal import Journal
from alltoken_agent.media._wire import PollState, Route, call, json_body
from alltoken_agent.media.events import JobEvent, JobStatusEvent, JobSubmittedEvent
from alltoken_agent.media.lease import Lease
from alltoken_agent.media.policy import DownloadLimits, PollPolicy
from alltoken_agent.store.media import SUBMIT_SENT, MediaJobRecord, MediaJobStatus

if TYPE_CHECKING:
    from alltoken_agent.gateway import Gateway

logger = logging.getLogger("alltoken_agent")
T = TypeVar("T")
ProgressCallback = Callable[[JobEvent], None]

_FINAL_STATUS: dict[str, MediaJobStatus] = {"cancelled": "cancelled", "expired": "expired"}
_ENDINGS = {
    "failed": "failed on the gateway",
    "cancelled": "was cancelled",
    "expired": "expired before its result was saved",
}


_MARGIN = 10.0
"""Seconds kept off a dedupe window, so a repeat lands inside it even on a slow link."""

UNCONFIRMED = SUBMIT_SENT
"""The journal's ``result`` key for a submit sent whose answer never arrived (ISO time)."""


def _confirmed(result: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in result.items() if name != UNCONFIRMED}


def resume_hint(job_id: str) -> str:
    """The sentence telling a user how to finish a pending job."""
    return f"resume it with `alltoken-agent jobs resume {job_id}`"


def _resend(job_id: str) -> str:
    return f"`alltoken-agent jobs resume {job_id} --resubmit`"


def _lost_submit_hint(job_id: str, route: Route) -> str:
    resend = _resend(job_id)
    if route.dedupe_seconds is None:
        return (
            "the gateway may have taken (and billed) it, so look for it on the provider's "
            f"dashboard before sending it again with {resend}"
        )
    return (
        f"{resume_hint(job_id)} within {route.dedupe_seconds - _MARGIN:.0f} s, while the "
        f"gateway still dedupes a repeat; later only with {resend}"
    )


class Run:
    """One job being driven to its end, or to a stop that leaves it resumable."""

    def __init__(
        self,
        gateway: Gateway,
        journal: Journal,
        record: MediaJobRecord,
        *,
        policy: PollPolicy,
        on_progress: ProgressCallback | None,
        resubmit: bool = False,
        limits: DownloadLimits | None = None,
        holder: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.limits = limits or DownloadLimits()
        """The largest result file this run downloads, per kind."""
        self.journal = journal
        self.record = record
        self.policy = policy
        self.on_progress = on_progress
        self.resubmit = resubmit
        """Send again a submit whose answer was lost, though the gateway may have taken it."""
        self.started = time.monotonic()
        self._end = gateway.observe(record.kind, record.model)
        self.lease = Lease(journal, label=lambda: self.label, emit=self.emit, holder=holder)

    @contextlib.asynccontextmanager
    async def leased(self) -> AsyncIterator[MediaJobRecord]:
        """Hold the job's lease for the block; ``self.record`` is re-read once it is held.

        Another process may be finishing the job: this waits for it (until the poll
        deadline), and the fresh row then says whether the job is done already.
        """
        deadline = None if self.policy.deadline is None else self.started + self.policy.deadline
        async with self.lease.held(self.record, deadline) as fresh:
            self.record = fresh
            if fresh.status == "queued":  # waited for a worker; this run takes it now
                fresh = await self.update(status="submitting")
            yield fresh

    @property
    def elapsed(self) -> float:
        """Seconds since this run started."""
        return time.monotonic() - self.started

    @property
    def label(self) -> str:
        """``image job job_... (task igen_...)`` for messages."""
        task = f" (task {self.record.task_id})" if self.record.task_id else ""
        return f"{self.record.kind} job {self.record.id}{task}"

    def emit(self, event: JobEvent) -> None:
        """Tell ``on_progress``; a callback that raises is logged, never fatal."""
        if self.on_progress is None:
            return
        try:
            self.on_progress(event)
        except Exception:
            logger.exception("media on_progress callback %r failed", self.on_progress)

    async def update(self, **changes: Any) -> MediaJobRecord:
        """Change the journal row and keep the new record."""
        self.record = await self.journal.update(self.record.id, **changes)
        return self.record

    def unobserved(self) -> None:
        """Make no request record for this run (the job was recorded before)."""
        self._end = None

    def observed(self, result: Any = None, error: GatewayError | None = None, **extra: Any) -> None:
        """Give the job's one request record to the gateway's observers."""
        end, self._end = self._end, None
        if end is not None:
            end(result, error, extra={"job_id": self.record.id, **extra})

    def pending_error(
        self, reason: str, cause: BaseException | None = None, *, hint: str | None = None
    ) -> MediaJobError:
        """The error for a job left unfinished (``submitting`` or ``pending``: resumable)."""
        error = MediaJobError(
            f"{self.label} {reason}; it stays {self.record.status} in the journal: "
            + (hint or resume_hint(self.record.id)),
            job_id=self.record.id,
            status=self.record.status,
            code=cause.code if isinstance(cause, GatewayError) else None,
        )
        error.__cause__ = cause
        return error

    async def fail(
        self,
        status: MediaJobStatus,
        reason: str,
        *,
        code: str | None = None,
        cause: GatewayError | None = None,
    ) -> MediaJobError:
        """Journal a final failure and return the error to raise (naming the job)."""
        await self.journal.finish(self.record.id, status, error_code=code, error=reason)
        self.observed(error=cause or GatewayError(reason, code=code or status))
        error = MediaJobError(
            f"{self.label} {reason}", job_id=self.record.id, status=status, code=code
        )
        error.__cause__ = cause
        return error

    async def ended(self, state: PollState) -> MediaJobError:
        """The error for a job the gateway ended without a result."""
        detail = ": ".join(x for x in (state.error_code, state.error_message) if x)
        reason = _ENDINGS.get(state.status, f"ended {state.status}")
        if detail:
            reason += f" ({detail})"
        if state.status == "expired":
            reason += "; submit it again"
        status = _FINAL_STATUS.get(state.status, "failed")
        return await self.fail(status, reason, code=state.error_code or state.status)

    async def protect(self, work: Awaitable[T]) -> T:
        """Run ``work`` to its end even if this task is cancelled meanwhile, then re-raise.

        Saving a paid result must not stop halfway because the user pressed Ctrl-C.
        """
        task = asyncio.ensure_future(work)
        cancelled = False
        while True:
            try:
                result = await asyncio.shield(task)
                break
            except asyncio.CancelledError:
                if task.done():
                    raise
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        return result

    async def submit(self, route: Route) -> dict[str, Any]:
        """Send the journaled request with the job's idempotency key; return the answer.

        Raises:
            MediaJobError: The gateway refused the job (journaled ``failed``), or the
                submit could not be confirmed (left ``submitting``, resumable).
        """
        self._refuse_a_lost_submit(route)
        # Journaled before sending: a crash or Ctrl-C during the submit leaves the job
        # marked as possibly taken by the gateway, so a resume does not pay for it twice.
        unconfirmed = {UNCONFIRMED: datetime.now(timezone.utc).isoformat()}
        record = await self.update(result={**self.record.result, **unconfirmed})
        headers = dict(route.headers)
        key = record.idempotency_key if route.idempotent else None
        data: dict[str, Any]
        task_id: str | None
        if key:
            headers["Idempotency-Key"] = key
        try:
            response = await call(
                self.gateway,
                "POST",
                route.create_path,
                json=record.request,
                headers=headers,
                idempotent=key is not None,
            )
        except ConflictError as error:
            if error.code != "duplicate_request" or not error.task_id:
                raise await self._refuse(error) from error
            # Our own earlier try went through (§3 row 7): carry on with that task.
            data, task_id = {}, error.task_id
            request_id = error.request_id
        except GatewayError as error:
            if refused(error):
                raise await self._refuse(error) from error
            hint = None
            if not error.maybe_delivered:  # no try reached the gateway: safe to send again
                await self.update(result=_confirmed(self.record.result))
            else:
                hint = _lost_submit_hint(self.record.id, route)
            reason = f"could not be submitted: {error}"
            raise self.pending_error(reason, error, hint=hint) from error
        else:
            data = json_body(response)
            task_id = route.task_id(data)
            request_id = data.get("request_id") or response.headers.get("x-gateway-request-id")
        result = {**_confirmed(self.record.result), "request_id": request_id}
        await self.update(
            status="pending",
            task_id=task_id,
            submitted_at=datetime.now(timezone.utc),
            result=result,
        )
        self.emit(
            JobSubmittedEvent(
                job_id=record.id,
                kind=record.kind,
                model=record.model,
                provider=record.provider,
                task_id=task_id,
            )
        )
        return data

    def _refuse_a_lost_submit(self, route: Route) -> None:
        """Stop before sending again a submit the gateway may have taken (and billed).

        A repeat is safe only within the window the gateway is known to dedupe it by
        the job's key (AllToken images: 60 s), or when the caller says to resend.
        """
        sent = self.record.result.get(UNCONFIRMED)
        if sent is None or self.resubmit:
            return
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(sent)).total_seconds()
        if route.dedupe_seconds is not None and age < route.dedupe_seconds - _MARGIN:
            return
        raise MediaJobError(
            f"{self.label} was sent at {sent} but its answer was lost, so the gateway may "
            "have taken and billed it; sending it again could be billed twice. Look for it "
            f"on the provider's dashboard, or send it again anyway with {_resend(self.record.id)}",
            job_id=self.record.id,
            status=self.record.status,
            code="submit_unconfirmed",
        )

    async def _refuse(self, error: GatewayError) -> MediaJobError:
        return await self.fail("failed", f"was refused: {error}", code=error.code, cause=error)

    async def poll(
        self,
        route: Route,
        read: Callable[[Mapping[str, Any], httpx.Headers], PollState],
        *,
        first_delay: float,
    ) -> tuple[dict[str, Any], PollState]:
        """Poll until a final status and return that answer (before anything is saved).

        Raises:
            GoneError: The result was already delivered or expired (images, 410).
            MediaJobError: The deadline passed or polling kept failing; the job stays
                ``pending``.
        """
        deadline = None if self.policy.deadline is None else self.started + self.policy.deadline
        url = route.poll_path.format(task_id=self.record.task_id)
        delay, status = first_delay, self.record.remote_status or "submitted"
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise self.pending_error(f"is still {status} after {self.elapsed:.0f} s")
            await asyncio.sleep(delay if deadline is None else min(delay, deadline - now))
            try:
                response = await call(self.gateway, "GET", url, params=route.poll_params)
            except GoneError:
                raise
            except ConflictError:  # a concurrent claim of the same image (§1.7): ask again
                delay = self.policy.next_delay(delay)
                continue
            except GatewayError as error:
                raise self.pending_error(f"polling failed: {error}", error) from error
            data = json_body(response)
            state = read(data, response.headers)
            if state.final:
                return data, state
            if state.status != status:
                status = state.status
                await self.status_changed(state)
            delay = self.policy.next_delay(delay, state.hint)

    async def status_changed(self, state: PollState) -> None:
        """Journal and announce a new gateway status."""
        await self.update(remote_status=state.remote or state.status)
        self.announce(state)

    def announce(self, state: PollState) -> None:
        """Emit ``job:status`` for a gateway status."""
        self.emit(
            JobStatusEvent(
                job_id=self.record.id,
                kind=self.record.kind,
                task_id=self.record.task_id,
                status=state.status,
                remote_status=state.remote,
                elapsed=round(self.elapsed, 3),
            )
        )


def refused(error: GatewayError) -> bool:
    """Whether a submit failure means the gateway certainly did not take the job."""
    return error.status is not None and 400 <= error.status < 500 and error.status not in (408, 429)

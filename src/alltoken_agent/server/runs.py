"""Agent runs in flight: each one a task feeding a queue, admitted, tracked and drained.

A run is a task of its own rather than the body of the HTTP response, so that it
outlives the response when it must: a client that goes away cancels its run (whole
steps already made stay saved), and a server shutting down first lets runs finish,
then cancels the rest, each of which still ends its stream with an ``error`` event.

One turn of a session runs at a time across every server on one database: a run holds
the session's lease in the store while it runs (``server/leases.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from alltoken_agent.ledger import BudgetStatus
from alltoken_agent.server._event_queue import EventQueue
from alltoken_agent.server._ids import new_run_id
from alltoken_agent.server.auth import Caller
from alltoken_agent.server.errors import ApiError, RunCancelledError
from alltoken_agent.server.leases import SessionLeases, session_busy
from alltoken_agent.server.limits import ConcurrencyLimiter
from alltoken_agent.store import SessionRecord

logger = logging.getLogger("alltoken_agent.server")


_HURRY_CHECK: Final = 0.1
"""Seconds between two looks at :meth:`RunRegistry.drain`'s ``hurry`` flag."""


@dataclass(frozen=True)
class RunEnd:
    """How a run ended: its final event, and what the response headers report."""

    name: str
    """``done`` or ``error``."""
    payload: dict[str, Any]
    error: BaseException | None
    cost: Decimal | None
    """What the run cost (tool requests included); None when unknown."""
    budget: BudgetStatus | None


_CANCEL_MESSAGES = {
    "server_shutdown": "the server is shutting down; finished steps are saved, send the "
    "message again to go on",
    "client_disconnected": "the client closed the stream; finished steps are saved",
}


class Run:
    """One agent turn for one session, in flight."""

    def __init__(self, caller: Caller, session_id: str, *, streaming: bool) -> None:
        self.id = new_run_id()
        self.caller = caller
        self.session_id = session_id
        self.streaming = streaming
        self.events = EventQueue()
        self.end: RunEnd | None = None
        self.cancel_code: str | None = None
        self.concluding = False
        """Set once the agent is done and the turn is being saved: no cancel from then on."""
        self._ended: asyncio.Future[None] | None = None
        """What :meth:`wait` waits on, made when someone waits (a JSON reply)."""
        self.task: asyncio.Task[None] | None = None
        self.lease_holder: str | None = None
        """Who this run is in the session's lease (``host/pid/random``) while it holds it."""

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        """Queue an event for the stream (dropped for a JSON reply, which only needs the end)."""
        if self.streaming:
            self.events.put((name, payload))

    def emit_frame(self, frame: bytes) -> None:
        """Queue an event already in the SSE wire format (see ``sse.delta_frame``)."""
        if self.streaming:
            self.events.put(frame)

    def finish(self, end: RunEnd) -> None:
        """Record the final event, queue it, and close the stream."""
        self.end = end
        if self.streaming:
            self.events.put((end.name, end.payload))
            self.events.put(None)
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    @property
    def finished(self) -> bool:
        """Whether the final event was produced."""
        return self.end is not None

    async def wait(self) -> RunEnd:
        """Wait for the end of the run."""
        if self.end is None:
            if self._ended is None:
                self._ended = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._ended)  # one waiter's cancel must not end another's wait
        assert self.end is not None
        return self.end

    def cancel(self, code: str) -> None:
        """Cancel the run (``server_shutdown`` or ``client_disconnected``)."""
        if self.task is None or self.task.done() or self.concluding:
            return
        if self.cancel_code is None:
            self.cancel_code = code
            self.task.cancel()

    def cancelled_error(self) -> RunCancelledError:
        """The error a cancelled run reports."""
        code = self.cancel_code or "cancelled"
        return RunCancelledError(code, _CANCEL_MESSAGES.get(code, "the run was cancelled"))


class RunRegistry:
    """Admits runs (draining, per-key concurrency, one run per session), tracks and drains them."""

    def __init__(self, concurrency: ConcurrencyLimiter, leases: SessionLeases) -> None:
        self.concurrency = concurrency
        self.leases = leases
        """The store's session leases: one turn of a session at a time, across replicas."""
        self.draining = False
        self._runs: dict[str, Run] = {}
        self._sessions: set[str] = set()
        self._releasing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._runs)

    def session_busy(self, session_id: str) -> bool:
        """Whether a run of this session is in flight on this server."""
        return session_id in self._sessions

    def admit(self, caller: Caller, session_id: str, *, streaming: bool) -> Run:
        """Reserve a run, or refuse with 503 (draining), 429 (too many) or 409 (session busy)."""
        if self.draining:
            raise ApiError(
                503,
                "server_shutting_down",
                "this server is shutting down; send the message again (to another replica)",
                type="server_error",
                headers={"Retry-After": "1"},
            )
        if session_id in self._sessions:
            raise session_busy()
        if not self.concurrency.try_acquire(caller.limit_key):
            raise ApiError(
                429,
                "too_many_concurrent_runs",
                f"this key already has {self.concurrency.limit} messages in flight; "
                "wait for one to finish",
                type="rate_limit_error",
                headers={"Retry-After": "1"},
            )
        run = Run(caller, session_id, streaming=streaming)
        self._runs[run.id] = run
        self._sessions.add(session_id)
        return run

    async def open_turn(self, run: Run) -> tuple[SessionRecord, list[dict[str, Any]]]:
        """Lease an admitted run's session and read it: 404 if none, 409 if busy elsewhere."""
        return await self.leases.open(run)

    async def close_turn(self, run: Run, messages: list[dict[str, Any]]) -> None:
        """Save the turn and give the lease up, before the run's end is reported."""
        await self.leases.close(run, messages)

    def _release_later(self, run: Run) -> None:
        if run.lease_holder is not None:
            task = asyncio.create_task(self.leases.release(run), name=f"{run.id}-release")
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    def cancel_admission(self, run: Run) -> None:
        """Give back what ``admit`` (and ``lease``) reserved, for a run that will not start."""
        if self._runs.pop(run.id, None) is not None:
            self._sessions.discard(run.session_id)
            self.concurrency.release(run.caller.limit_key)
        self._release_later(run)

    def start(self, run: Run, body: Coroutine[Any, Any, None]) -> None:
        """Run ``body`` as the run's task; its slot and session are freed when it ends."""
        run.task = asyncio.create_task(body, name=run.id)
        run.task.add_done_callback(lambda task: self._release(run, task))

    def _release(self, run: Run, task: asyncio.Task[None]) -> None:
        self._runs.pop(run.id, None)
        self._sessions.discard(run.session_id)
        self.concurrency.release(run.caller.limit_key)
        self._release_later(run)  # a turn that failed before giving its lease up
        if not task.cancelled() and task.exception() is not None:
            logger.error("run %s failed: %r", run.id, task.exception())
        if not run.finished:  # never leave a stream waiting
            run.finish(
                RunEnd(
                    "error",
                    {
                        "event": "error",
                        "code": "internal_error",
                        "message": "the run failed",
                        "type": "InternalError",
                        "session_id": run.session_id,
                        "request_cost": None,
                        "budget": None,
                    },
                    None,
                    None,
                    None,
                )
            )

    async def drain(self, grace: float, hurry: Callable[[], bool] | None = None) -> None:
        """Refuse new runs, give running ones ``grace`` seconds, then cancel the rest.

        ``hurry``: read while waiting (a flag a signal handler sets); once true the runs
        still going are cancelled at once, which saves their finished steps as the end
        of the grace does.
        """
        self.draining = True
        runs = [run for run in self._runs.values() if run.task is not None]
        tasks = [run.task for run in runs if run.task is not None]
        if not tasks:
            return
        logger.info("waiting up to %.0f s for %d run(s) to finish", grace, len(tasks))
        deadline = asyncio.get_running_loop().time() + grace
        pending: set[asyncio.Task[None]] = set(tasks)
        while pending:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            if hurry is not None and hurry():
                logger.warning("interrupted again: not waiting for the runs")
                break
            # A signal handler can only set a flag: it is looked at this often.
            _, pending = await asyncio.wait(
                pending, timeout=left if hurry is None else min(left, _HURRY_CHECK)
            )
        pending = {task for task in pending if not task.done()}
        if pending:
            logger.warning("cancelling %d run(s) still in flight", len(pending))
            for run in runs:
                run.cancel("server_shutdown")
            await asyncio.wait(pending, timeout=10)

"""Session leases: one turn of a session at a time across every server on one database.

A run takes the session's lease in the store (a conditional UPDATE, see
``SessionRepository.take_lease``) before it starts, renews it while it runs and gives it
up once the turn is saved. Another replica's message to that session gets 409 with
``Retry-After``. A lease held by a dead process of this host (SIGKILL) is taken over at
once; a dead replica on another host blocks the session until its lease runs out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Final

from alltoken_agent.media import holder_is_dead
from alltoken_agent.server._ids import new_lease_holder
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.storage import StoreCalls
from alltoken_agent.server.windows import ContextWindows
from alltoken_agent.store import SessionRecord, SessionRepository

if TYPE_CHECKING:
    from alltoken_agent.server.runs import Run

logger = logging.getLogger("alltoken_agent.server")


SESSION_LEASE_SECONDS: Final = 30.0
"""How long a turn's session lease lasts unless renewed: a replica that died on another
host blocks its sessions this long at most."""

BUSY_RETRY_AFTER: Final = "1"
"""``Retry-After`` (seconds) of the 409 for a session answering another message."""


def session_not_found(session_id: str) -> ApiError:
    """The 404 for a session that does not exist, or belongs to another key."""
    return ApiError(
        404,
        "session_not_found",
        f"no session {session_id!r} for this key; list them with GET /v1/sessions",
        type="not_found_error",
    )


def session_busy() -> ApiError:
    """The 409 for a message to a session whose turn runs (on this replica or another)."""
    return ApiError(
        409,
        "session_busy",
        "this session is answering another message; wait for it to finish",
        type="conflict_error",
        headers={"Retry-After": BUSY_RETRY_AFTER},
    )


class SessionLeases:
    """Session leases in the store: taken with the session's history, renewed, given up.

    A turn costs two store calls: :meth:`open` (lease, session and history in one
    transaction) and :meth:`close` (the turn's messages and the lease's release in one).
    One task renews every lease this process holds, in one transaction, while any is
    held: not a task and a write per run.
    """

    def __init__(
        self,
        sessions: SessionRepository,
        calls: StoreCalls,
        seconds: float = SESSION_LEASE_SECONDS,
        windows: ContextWindows | None = None,
    ) -> None:
        self.sessions = sessions
        self.calls = calls
        self.windows = windows
        """The models' context windows: a long session is read only as far as it can fit."""
        self.seconds = seconds
        """How long a lease lasts unless renewed; renewed every third of it."""
        self._held: dict[str, str] = {}
        """Session id to holder, for the leases this process's runs hold."""
        self._renewer: asyncio.Task[None] | None = None

    async def open(self, run: Run) -> tuple[SessionRecord, list[dict[str, Any]]]:
        """Lease the run's session and read it and its history.

        Raises:
            ApiError: 404 when the caller has no such session, 409 while another
                process runs a turn of it.
        """
        holder = new_lease_holder()
        steal: str | None = None
        fit = None
        if self.windows is not None:
            self.windows.refresh()
            fit = self.windows.fit
        while True:
            start = await self.calls.write_grouped(
                self.sessions.open_turn,
                run.session_id,
                owner=run.caller.owner,
                holder=holder,
                seconds=self.seconds,
                steal_from=steal,
                fit=fit,
            )
            if start.holder is None:
                raise session_not_found(run.session_id)
            if start.session is not None:
                run.lease_holder = holder
                self._held[run.session_id] = holder
                # Also when the last one ended by itself (its leases all taken over).
                if self._renewer is None or self._renewer.done():
                    self._renewer = asyncio.create_task(self._renew(), name="session-leases")
                return start.session, start.messages
            if steal is None and holder_is_dead(start.holder):
                logger.warning(
                    "taking over session %s from dead process %s", run.session_id, start.holder
                )
                steal = start.holder
                continue
            raise session_busy()

    async def _renew(self) -> None:
        """Renew the leases held, every third of their length, until none is held."""
        while self._held:
            await asyncio.sleep(self.seconds / 3)  # two renewals may fail before one runs out
            held = dict(self._held)
            try:
                # Taken and sent in one loop step: a lease given up later is not in it, and
                # the writer thread runs this before that release (it runs jobs in order).
                lost = await self.calls.write(self.sessions.renew_leases, held, self.seconds)
            except Exception as error:  # a busy store: the next renewal tries again
                logger.warning("could not renew %d session lease(s): %r", len(held), error)
                continue
            for session_id, owner in lost.items():
                if self._held.get(session_id) == held[session_id]:
                    logger.warning("session %s was taken over by %s", session_id, owner)
                    del self._held[session_id]

    def _forget(self, run: Run) -> str | None:
        """Stop renewing the run's lease; the holder it had (None: it holds none)."""
        holder, run.lease_holder = run.lease_holder, None
        if holder is not None and self._held.get(run.session_id) == holder:
            del self._held[run.session_id]
        if not self._held and self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        return holder

    async def close(self, run: Run, messages: list[dict[str, Any]]) -> None:
        """Save the turn's new messages and give the lease up, in one store call.

        Raises:
            Exception: The turn could not be saved (the lease is given up all the same).
        """
        holder = self._forget(run)
        if holder is None:  # never leased (or taken over): save the turn alone
            if messages:
                await self.calls.write(self.sessions.append_messages, run.session_id, messages)
            return
        try:
            # The turn's request row, waiting for a write, is committed with it.
            await self.calls.write_joined(
                self.sessions.close_turn, run.session_id, holder, messages
            )
        except Exception:
            await self._give_up(run.session_id, holder)
            raise

    async def release(self, run: Run) -> None:
        """Give the session's lease up without saving anything (once; never raises)."""
        holder = self._forget(run)
        if holder is not None:
            await self._give_up(run.session_id, holder)

    async def _give_up(self, session_id: str, holder: str) -> None:
        try:
            await self.calls.write(self.sessions.release_lease, session_id, holder)
        except Exception as error:  # it runs out on its own
            logger.warning("could not release the lease on session %s: %r", session_id, error)

"""The two deadlines of a reply: one overall, and one for going quiet.

``total`` bounds the whole request: sending (with its retries and their sleeps),
the headers, and reading the body to its end. ``idle`` bounds the time a streamed
body may go without a ``data:`` line; it starts when the headers arrive. Any data
line counts as progress (a role chunk, a delta, the usage chunk), but SSE comments
do not: a gateway that sends ``: ping`` keep-alives forever is cut off by ``idle``,
and one that trickles a word a second forever by ``total``.

httpx's own read timeout cannot do either: every byte, keep-alive comments
included, starts it again.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import GatewayTimeoutError

Which = Literal["total", "idle"]
T = TypeVar("T")


class DeadlineExceededError(Exception):
    """A reply ran past one of its deadlines.

    Internal to ``gateway/``: the client turns it into ``GatewayTimeoutError`` (no
    reply yet) or ``StreamTimeoutError`` (with the partial text) before callers see it.
    """

    def __init__(self, which: Which, seconds: float) -> None:
        super().__init__(which)
        self.which: Which = which
        self.seconds = seconds

    def describe(self) -> str:
        """What ran out, in words, e.g. ``no content for 0.5 s (keep-alive comments ...)``."""
        if self.which == "idle":
            return (
                f"the gateway sent no data for {self.seconds:g} s "
                "(keep-alive comments do not count; idle timeout)"
            )
        return f"the reply took longer than {self.seconds:g} s (total timeout)"


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class Deadlines(FrozenValue):
    """Seconds for ``total`` and ``idle``; None means no limit."""

    total: float | None = None
    idle: float | None = None

    def __init__(self, total: float | None = None, idle: float | None = None) -> None:
        fields = self.__dict__
        fields["total"] = total
        fields["idle"] = idle

    def start(self) -> ReplyClock | None:
        """A clock for one request, started now; None when neither deadline is set."""
        if self.total is None and self.idle is None:
            return None
        return ReplyClock(self)


class ReplyClock:
    """The running deadlines of one request.

    One timer per request, armed at the earliest deadline and re-armed lazily when
    it fires early (a data line moved the idle deadline on): a cancel scope or a
    timer per read would cost more than the rest of the per-read work. Only a wait
    that is still pending when a deadline passes is cancelled; a deadline that
    passes between waits is noticed by the next read (the total one as that read
    returns, or by the timer if it has to wait; the idle one when that wait finds
    nothing to read).
    """

    __slots__ = (
        "_body",
        "_fired",
        "_handle",
        "_idle",
        "_idle_at",
        "_loop",
        "_settings",
        "_task",
        "_total_at",
        "_waiting",
    )

    def __init__(self, settings: Deadlines) -> None:
        self._settings = settings
        self._idle = settings.idle
        self._loop = loop = asyncio.get_running_loop()
        now = loop.time()
        self._total_at = now + settings.total if settings.total is not None else math.inf
        self._idle_at = math.inf  # the idle clock starts with the body
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._waiting = False
        self._fired = False
        self._body: Callable[[], Awaitable[bytes]] = _no_body

    @property
    def total_at(self) -> float:
        """When the whole request must be over (event-loop time; inf: never)."""
        return self._total_at

    def progress(self) -> None:
        """Data arrived (or the body starts): the idle deadline moves on."""
        if self._idle is not None:
            self._idle_at = self._loop.time() + self._idle

    def expired(self, now: float) -> DeadlineExceededError:
        """The error for the deadline that ran out by ``now``."""
        if now >= self._total_at and self._settings.total is not None:
            return DeadlineExceededError("total", self._settings.total)
        return DeadlineExceededError("idle", self._settings.idle or 0.0)

    def total_expired(self) -> DeadlineExceededError:
        """The error for the overall deadline."""
        return DeadlineExceededError("total", self._settings.total or 0.0)

    def reads(self, read: Callable[[], Awaitable[bytes]]) -> Callable[[], Awaitable[bytes]]:
        """``read`` within the deadlines: each call awaits one read; a ``data:`` line is progress.

        The reads raise ``DeadlineExceededError`` when a deadline passed before or while
        waiting.
        """
        self._body = read
        return self._read

    async def _read(self) -> bytes:
        loop = self._loop
        self._task = asyncio.current_task(loop)
        if self._handle is None:
            self._handle = loop.call_at(min(self._total_at, self._idle_at), self._check)
        self._waiting = True
        try:
            raw = await self._body()
        except asyncio.CancelledError:
            if self._fired and _uncancel(self._task) == 0:
                raise self.expired(loop.time()) from None
            raise  # cancelled by someone else: theirs to handle
        finally:
            self._waiting = False
        if self._fired:
            self._taken_back()
        # One clock reading per read, after it: a total deadline that passed before
        # (or while) it is noticed here, and a data line moves the idle deadline on.
        now = loop.time()
        if now >= self._total_at:
            raise self.expired(now)
        if self._idle is not None and b"data:" in raw:
            self._idle_at = now + self._idle
        return raw

    async def within_total(self, send: Callable[[], Awaitable[T]]) -> T:
        """Await ``send()`` before the overall deadline (the idle one has not started).

        Raises:
            DeadlineExceededError: The overall deadline passed first.
        """
        loop = self._loop
        if self._total_at == math.inf:
            return await send()
        if loop.time() >= self._total_at:
            raise self.total_expired()
        self._task = asyncio.current_task(loop)
        if self._handle is None:
            self._handle = loop.call_at(min(self._total_at, self._idle_at), self._check)
        self._waiting = True
        try:
            result = await send()
        except asyncio.CancelledError:
            if self._fired and _uncancel(self._task) == 0:
                raise self.total_expired() from None
            raise
        finally:
            self._waiting = False
        if self._fired:
            self._taken_back()
        return result

    def stop(self) -> None:
        """The request is over: the timer goes."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _taken_back(self) -> None:
        """Our cancel was swallowed below: take it back; the next wait notices the deadline."""
        _uncancel(self._task)
        self._fired = False

    def _check(self) -> None:
        """The timer: cancel a pending wait once a deadline has passed, else wait on."""
        self._handle = None
        due = min(self._total_at, self._idle_at)
        if self._loop.time() < due:
            self._handle = self._loop.call_at(due, self._check)
        elif self._waiting and self._task is not None and not self._fired:
            self._fired = True
            self._task.cancel()


async def _no_body() -> bytes:
    return b""


def _uncancel(task: asyncio.Task[Any] | None) -> int:
    """Take back our cancel request; the count of others left (Python 3.10: none known)."""
    uncancel = getattr(task, "uncancel", None)
    return int(uncancel()) if uncancel is not None else 0


async def within_total(clock: ReplyClock | None, send: Callable[[], Awaitable[T]]) -> T:
    """Await ``send()`` under the overall deadline of ``clock`` (none: no limit).

    The clock's timer is stopped on the way out; reading a body arms it again.

    Raises:
        GatewayTimeoutError: The deadline passed first (code ``total_timeout``).
    """
    if clock is None:
        return await send()
    try:
        return await clock.within_total(send)
    except DeadlineExceededError as exc:
        raise GatewayTimeoutError(
            exc.describe() + "; nothing usable had arrived", code="total_timeout"
        ) from None
    finally:
        clock.stop()

"""Per-request limits: body size (413), requests per key (429), runs in flight per key.

The body limit is an ASGI middleware that counts bytes as the app reads them, so a
body past the limit is refused after at most the limit plus one chunk, whether it has
a ``Content-Length`` (refused before reading anything) or is chunked. The rate and
concurrency limiters are plain in-memory counters: per process, so with N replicas
behind a load balancer a key gets up to N times the limit.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alltoken_agent.server.errors import ApiError, error_response


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` once the body passes the limit (FastAPI lets it through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit), headers={"Connection": "close"})


def _too_large(limit: int) -> str:
    return (
        f"the request body is larger than this server's limit of {limit} bytes; "
        "send less (or raise [server] max_body_bytes)"
    )


class BodySizeLimit:
    """ASGI middleware: 413 for request bodies over ``max_bytes``, never buffering them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a ``receive`` that counts what the app reads."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        counted = _Counted(receive, send, self.max_bytes)
        try:
            await self.app(scope, counted.receive, counted.send)
        except BodyTooLargeError:
            if counted.started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = ApiError(
            413, "request_too_large", _too_large(self.max_bytes), headers={"Connection": "close"}
        )
        await error_response(error)(scope, receive, send)


class _Counted:
    """A request's ``receive`` counting the body's bytes, and its ``send`` noting the start.

    One small object rather than two closures and their cells: it is held for as long as
    the reply lasts, which for an event stream is the whole answer.
    """

    __slots__ = ("_receive", "_send", "_max", "received", "started")

    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive = receive
        self._send = send
        self._max = max_bytes
        self.received = 0
        self.started = False

    async def receive(self) -> Message:
        """The next message; past the limit, :class:`BodyTooLargeError` instead."""
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self._max:
                raise BodyTooLargeError(self._max)
        return message

    async def send(self, message: Message) -> None:
        """Send ``message``, noting whether the reply has started."""
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``per_minute``."""

    def __init__(
        self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float:
        """Take one request for ``key``: 0.0 when allowed, else seconds until one would be."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


class ConcurrencyLimiter:
    """Counts what each key has in flight; refuses past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active: Counter[str] = Counter()

    def try_acquire(self, key: str) -> bool:
        """Take a slot for ``key``; False when it already has ``limit`` in flight."""
        if self._active[key] >= self.limit:
            return False
        self._active[key] += 1
        return True

    def release(self, key: str) -> None:
        """Give a slot back."""
        self._active[key] -= 1
        if self._active[key] <= 0:
            del self._active[key]

    def active(self, key: str) -> int:
        """Slots ``key`` holds now."""
        return self._active.get(key, 0)

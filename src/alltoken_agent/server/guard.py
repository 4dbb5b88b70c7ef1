"""Defences against hostile clients: the Host check, and failed keys counted per address.

- A server without keys trusts whoever reaches it, which is only programs on this
  machine because it binds a loopback host. A web page the user visits can still
  reach it by DNS rebinding (its own name made to resolve to 127.0.0.1), but its
  requests then carry that name in ``Host``: :class:`HostCheck` answers only requests
  addressed to ``127.0.0.1:PORT``, ``localhost:PORT`` or ``[::1]:PORT``.
- A server with keys counts failed authentications per client address
  (:class:`AuthFailures`): past the limit in the window, every request from that
  address is 429 until the window has moved on, so keys cannot be guessed at speed.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from alltoken_agent.server.errors import ApiError, error_response

LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost", "[::1]")
"""The names a request to a server without keys may be addressed to (with its port)."""

MAX_TRACKED_ADDRESSES: Final = 10_000
"""Addresses whose failures are remembered; past it the least recent are forgotten."""


class HostCheck:
    """ASGI middleware: 421 for a request whose ``Host`` is not this loopback server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on if it is addressed to a loopback name and our port."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = (Headers(scope=scope).get("host") or "").strip().lower()
        if allowed_host(host, scope.get("server")):
            await self.app(scope, receive, send)
            return
        error = ApiError(
            421,
            "host_not_allowed",
            "this server has no keys, so it answers only requests addressed to "
            "127.0.0.1, localhost or [::1] with its port (a defence against DNS "
            "rebinding); set server keys to serve other names",
            type="invalid_request_error",
            headers={"Connection": "close"},
        )
        await error_response(error)(scope, receive, send)


def allowed_host(host: str, server: tuple[str, int | None] | None) -> bool:
    """Whether a ``Host`` header names this loopback server (``server``: the bound address)."""
    if not host:
        return False  # HTTP/1.1 requires Host; HTTP/1.0 without it is refused too
    names = set(LOOPBACK_NAMES)
    port: int | None = None
    if server is not None:
        bound, port = server
        names.add(f"[{bound}]" if ":" in bound else bound)  # 127.0.0.2 when bound there
    name, port_text = _split_host(host)
    if name not in names:
        return False
    if port is None:
        return True  # no socket address (an in-process transport): the name is enough
    if port_text is None:
        return port == 80
    return port_text.isdigit() and int(port_text) == port


def _split_host(host: str) -> tuple[str, str | None]:
    """``name`` and ``port`` of a Host header (``[::1]:8000`` -> ``[::1]``, ``8000``)."""
    if host.startswith("["):
        end = host.find("]") + 1
        name, rest = (host, "") if end == 0 else (host[:end], host[end:])
    else:
        name, colon, port = host.partition(":")
        rest = colon + port
    if not rest:
        return name, None
    if not rest.startswith(":"):
        return host, None  # not a name we know: refused by the caller
    return name, rest[1:]


class AuthFailures:
    """Failed authentications per client address, in a sliding window."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int:
        """Whole seconds until ``address`` may try a key again; 0 when it may now."""
        times = self._recent(address)
        if times is None or len(times) < self.limit:
            return 0
        return max(1, math.ceil(times[0] + self.window - self._clock()))

    def record(self, address: str) -> None:
        """Count one failed authentication from ``address``."""
        times = self._recent(address)
        if times is None:
            times = self._failures[address] = deque()
            while len(self._failures) > self._max:
                self._failures.popitem(last=False)
        self._failures.move_to_end(address)
        times.append(self._clock())
        while len(times) > self.limit:
            times.popleft()

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        horizon = self._clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times


def client_address(scope: Scope) -> str:
    """The peer's IP address (the socket's, never a forwarded header), or ``unknown``."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def too_many_failures(seconds: int) -> ApiError:
    """The 429 for an address that failed to authenticate too often."""
    return ApiError(
        429,
        "too_many_auth_failures",
        "too many requests with a missing or wrong key from this address; "
        f"retry in {seconds} s with a valid key",
        type="rate_limit_error",
        headers={"Retry-After": str(seconds)},
    )

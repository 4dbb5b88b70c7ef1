"""Dropping a client connection mid-reply, for the `disconnect` and `accept_then_drop` faults.

Kept apart from the vocabulary in `faults.py`, which re-exports these names.
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from alltoken_agent.simulator._constants import RAW_SEND_SCOPE_KEY


class SimulatedDisconnectError(ConnectionError):
    """Raised to abort a response when the socket cannot be reached directly."""


async def drop_connection(scope: Scope) -> bool:
    """Close the client connection now, after flushing what was already sent.

    ASGI has no "abort" message, so this reaches the socket through the server's own
    `send` callable stashed by the app (uvicorn's request cycle, on h11 or httptools,
    exposes `transport` and `disconnected`). Waiting for the disconnect keeps uvicorn
    from writing a 500 afterwards or logging a spurious error.

    Args:
        scope: The ASGI scope of the request.

    Returns:
        True if the connection was closed, False if the server is not one this
        function knows how to reach (the caller then raises instead).
    """
    cycle = getattr(scope.get(RAW_SEND_SCOPE_KEY), "__self__", None)
    # Not isinstance(asyncio.BaseTransport): uvloop's transports do not derive from it.
    close = getattr(getattr(cycle, "transport", None), "close", None)
    if not callable(close):
        return False
    close()
    for _ in range(400):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0.005)
    return True


class DropConnection(Response):
    """A "response" that closes the connection without sending anything."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Drop the connection (or, on an unknown server, abort via an exception)."""
        if not await drop_connection(scope):
            raise SimulatedDisconnectError("simulated disconnect (fault)")

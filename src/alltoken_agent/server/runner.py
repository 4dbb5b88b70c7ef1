"""Serving the app with uvicorn, with a graceful shutdown that drains agent runs first.

On SIGTERM or Ctrl-C, :class:`AppServer` stops accepting connections, refuses new runs
and media jobs (503, and ``/healthz`` says ``draining``), gives the runs in flight
``shutdown_grace`` seconds to finish, then cancels the rest: each of their streams
ends with an ``error`` event (``server_shutdown``) and their finished steps are saved.
Media jobs still polling are stopped and stay ``pending`` in the journal, resumed when
the server starts again. Only then does uvicorn's own shutdown close the connections.
"""

from __future__ import annotations

import socket
from typing import Any, Final

import uvicorn
from fastapi import FastAPI

from alltoken_agent.server.context import ServerContext
from alltoken_agent.server.protocol import header_deadline_protocol

CONNECTION_GRACE: Final = 5
"""Seconds uvicorn waits for responses after the runs are drained."""


LISTEN_BACKLOG: Final = 2048
"""Uvicorn's default backlog."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port, read back with getsockname).

    It listens at once, before uvicorn starts: a client that connects as soon as the
    address is announced waits in the backlog instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it each small SSE event may wait ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: FastAPI, **kwargs: Any) -> uvicorn.Config:
    """Uvicorn's settings for the app: no server header, a short connection grace.

    HTTP/1.1 is served by h11 with a deadline for each request's headers (the app's
    ``header_timeout``): a client that sends them too slowly gets 408 and is cut off.
    """
    context = getattr(getattr(app, "state", None), "server", None)
    timeout = context.options.header_timeout if isinstance(context, ServerContext) else None
    settings: dict[str, Any] = {
        "server_header": False,
        "proxy_headers": False,
        "timeout_graceful_shutdown": CONNECTION_GRACE,
        "log_config": None,
        **({} if timeout is None else {"http": header_deadline_protocol(timeout)}),
        **kwargs,
    }
    return uvicorn.Config(app, **settings)


class AppServer(uvicorn.Server):
    """uvicorn's server, draining the app's agent runs before its own shutdown.

    Example:
        ```python
        app = create_app(gateway, store, options=options)
        sock = bind_socket("127.0.0.1", 0)
        await AppServer(uvicorn_config(app)).serve(sockets=[sock])
        ```
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        app = config.app
        context = getattr(getattr(app, "state", None), "server", None)
        if not isinstance(context, ServerContext):
            raise TypeError("AppServer serves an app made by create_app()")
        self.context = context

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, drain the runs, stop the media jobs, then close the connections.

        Media jobs still running stay resumable in the journal (the next start resumes
        them); a file being saved is finished first.
        """
        for server in getattr(self, "servers", []):
            server.close()
        self.context.media.stopping = True
        await self.context.runs.drain(self.context.options.shutdown_grace)
        await self.context.media.stop()
        await super().shutdown(sockets=sockets)

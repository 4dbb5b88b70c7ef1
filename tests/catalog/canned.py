"""A loopback HTTP server with canned JSON answers that records every request's headers.

The simulator does not log its public `/api-account` routes (only `/v1` requests reach
its request log), so tests that must see what went out on the wire for those routes, or
need shapes the simulator never sends (no `data` wrapper, missing fields, a 5xx before a
success), use this. It answers from a table and checks nothing; it is not a gateway.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Reply = tuple[int, Any]
"""(status, body): a body of bytes is sent as is, anything else as JSON."""


@dataclass
class Seen:
    """One request as it arrived."""

    path: str
    query: str
    headers: dict[str, str]


class CannedServer:
    """Serves ``routes`` (path -> one reply, or a list of replies used in turn, the last
    one repeating) on 127.0.0.1 and records requests in ``seen``."""

    def __init__(self, routes: dict[str, Reply | list[Reply]]) -> None:
        self.routes = {k: list(v) if isinstance(v, list) else [v] for k, v in routes.items()}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def paths(self) -> list[str]:
        with self._lock:
            return [s.path for s in self.seen]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, path: str) -> Reply:
        with self._lock:
            replies = self.routes.get(path)
            if not replies:
                return 404, {"error": {"code": "not_found", "message": f"no canned {path}"}}
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.seen.append(Seen(parts.path, parts.query, headers))
                status, body = server._reply(parts.path)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def canned(routes: dict[str, Reply | list[Reply]]) -> Iterator[CannedServer]:
    """A running ``CannedServer``, stopped afterwards."""
    server = CannedServer(routes)
    try:
        yield server
    finally:
        server.stop()

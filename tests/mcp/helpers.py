"""Serving the MCP server over real loopback HTTP in a background thread, for the SDK client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alltoken_agent import Gateway
from alltoken_agent.ledger import Ledger
from alltoken_agent.mcp import build_server, serve_http
from alltoken_agent.store import Store

START_TIMEOUT = 15.0


@dataclass
class RunningServer:
    """An MCP server serving streamable HTTP on a free loopback port."""

    url: str = ""
    gateway: Gateway | None = None
    store: Store | None = None
    errors: list[BaseException] = field(default_factory=list)


@contextmanager
def serve_in_thread(make_gateway: Callable[[], Gateway]) -> Iterator[RunningServer]:
    """Build the server the way the CLI does (factory + ledger observer) and serve it.

    The gateway, store and server live in the thread's own event loop, like in
    `alltoken-agent mcp --transport http`.
    """
    running = RunningServer()
    ready = threading.Event()
    control: dict[str, Any] = {}

    def on_ready(url: str) -> None:
        running.url = url
        ready.set()

    async def main() -> None:
        gateway = make_gateway()
        store = Store()
        ledger = Ledger(store, simulated=gateway.simulated)
        gateway.add_observer(ledger.observer)
        running.gateway, running.store = gateway, store
        stop = asyncio.Event()
        control["loop"], control["stop"] = asyncio.get_running_loop(), stop
        try:
            server = build_server(gateway, store, ledger=ledger)
            await serve_http(server, host="127.0.0.1", port=0, on_ready=on_ready, stop=stop)
        finally:
            await gateway.aclose()
            store.close()

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # reported by the test, not lost in the thread
            running.errors.append(error)
        finally:
            ready.set()

    thread = threading.Thread(target=target, name="mcp-http", daemon=True)
    thread.start()
    assert ready.wait(START_TIMEOUT), "the MCP server did not start"
    assert not running.errors, running.errors
    try:
        yield running
    finally:
        control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(START_TIMEOUT)
        assert not thread.is_alive(), "the MCP server did not stop"
        assert not running.errors, running.errors

"""Opening a gateway from a command's shared flags, without Typer.

:mod:`alltoken_agent.cli.options` declares the flags (Typer's option aliases) and
re-exports these names; they live here so ``chat`` can run without importing Typer
(see :mod:`alltoken_agent.cli._chat_quick`).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alltoken_agent._frozen import FrozenValue

# httpx imports its own command-line client (click, rich, pygments: about a third of
# httpx's import time) whenever those happen to be installed, and falls back to a stub
# when that import fails. No command here runs httpx's client, so the import is made to
# fail before the gateway imports httpx; a process that imported httpx first keeps it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    import httpx

    from alltoken_agent import Config, Gateway, RetryNotice
    from alltoken_agent.cli.output import EventWriter
    from alltoken_agent.ledger import Ledger
    from alltoken_agent.store import Store

# Simulated replies arrive this far apart, so an offline run looks like a stream.
OFFLINE_CHUNK_DELAY = 0.01


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class GatewayOptions(FrozenValue):
    """The shared provider flags of one command."""

    provider: str | None = None
    base_url: str | None = None
    model: str | None = None
    offline: bool = False
    timeout: float | None = None
    """``--timeout``: over the config's ``[timeouts] total``."""
    idle_timeout: float | None = None
    """``--idle-timeout``: over the config's ``[timeouts] idle``."""
    verbose: bool | None = None
    """``-v``: a line on stderr per retry; without it only the final error is printed.
    None for commands without the flag (``serve``, ``mcp``, ``tui``), whose logs keep them."""

    def __init__(
        self,
        provider: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        offline: bool = False,
        timeout: float | None = None,
        idle_timeout: float | None = None,
        verbose: bool | None = None,
    ) -> None:
        fields = self.__dict__
        fields["provider"] = provider
        fields["base_url"] = base_url
        fields["model"] = model
        fields["offline"] = offline
        fields["timeout"] = timeout
        fields["idle_timeout"] = idle_timeout
        fields["verbose"] = verbose


def with_deadlines(config: Config, options: GatewayOptions) -> Config:
    """``config`` with the ``--timeout`` and ``--idle-timeout`` flags applied."""
    changes = {
        name: value
        for name, value in (("total", options.timeout), ("idle", options.idle_timeout))
        if value is not None
    }
    if not changes:
        return config
    return config.model_copy(update={"timeouts": config.timeouts.model_copy(update=changes)})


def load_user_config() -> Config:
    """The config file's settings (an empty config when there is no file)."""
    from alltoken_agent import app_dirs, load_config

    return load_config(app_dirs().config_file)


def print_retry(notice: RetryNotice) -> None:
    """Tell a person on stderr that a request is being retried."""
    print(
        f"alltoken-agent: {notice.error.code}; retrying in {notice.delay:.1f} s"
        f" (retry {notice.attempt})",
        file=sys.stderr,
    )


def retry_notices(
    writer: EventWriter, options: GatewayOptions
) -> Callable[[RetryNotice], None] | None:
    """How a command tells of retries: ``retry`` events with ``--json``, lines with ``-v``.

    Without either, nothing: a dead endpoint then prints one error line, at the end.
    """
    if writer.enabled:
        from alltoken_agent.agent.result import RetryEvent

        def emit(notice: RetryNotice) -> None:
            writer.emit_event(RetryEvent.from_notice(notice).to_dict())

        return emit
    return print_retry if options.verbose is not False else None


async def observing_ledger(gateway: Gateway, store: Store, config: Config) -> Ledger:
    """A ledger of every request ``gateway`` makes, priced from its catalog.

    What ``usage`` reports and the config's ``[budget]`` is checked against; the
    config's ``[prices]`` win over the catalog's. An offline gateway's ledger is the
    simulator's book, so made-up costs never count toward a real budget.
    """
    from alltoken_agent.catalog import Catalog
    from alltoken_agent.ledger import Ledger

    ledger = Ledger(
        store, await Catalog(gateway).prices(config.prices), simulated=gateway.simulated
    )
    gateway.add_observer(ledger.observer)
    return ledger


def one_at_a_time_transport(config: Config) -> httpx.AsyncBaseTransport:
    """The transport of a command whose requests go one after another: h11 on asyncio.

    The gateway's default pool (aiohttp's connector) pays off at many concurrent
    streams, where httpcore's bookkeeping grows with the square of the pool. A command
    such as ``chat`` has one request in flight at a time, where aiohttp's import (about
    130 ms, two SSL contexts built at import) would double the time before the request
    leaves, and httpx's own transport (httpcore, with anyio's locks under asyncio) costs
    about 30 ms of it (gateway/_asyncio_transport.py; bench/cli_startup.py). The
    ``[http]`` limits apply all the same; the CA bundle is loaded for https only.
    """
    from alltoken_agent.gateway._asyncio_transport import AsyncioTransport

    return AsyncioTransport(
        max_connections=config.http.max_connections,
        keepalive_expiry=config.http.keepalive_expiry,
    )


@asynccontextmanager
async def open_gateway(
    options: GatewayOptions,
    *,
    on_retry: Callable[[RetryNotice], None] | None = None,
    one_at_a_time: bool = False,
) -> AsyncIterator[Gateway]:
    """Open the gateway the flags ask for, going offline when told to or when no key is set.

    Retries are told of by ``on_retry``; by default a line on stderr per retry with
    ``-v`` (or for a command without the flag), else nothing. ``one_at_a_time``: the
    command sends its requests one after another (see :func:`one_at_a_time_transport`).
    """
    from alltoken_agent import Gateway
    from alltoken_agent.gateway import resolve

    if on_retry is None and options.verbose is not False:
        on_retry = print_retry

    config = with_deadlines(load_user_config(), options)
    transport = one_at_a_time_transport(config) if one_at_a_time else None
    resolved = resolve(
        provider=options.provider,
        base_url=options.base_url,
        model=options.model,
        config=config,
    )
    go_offline = options.offline or (resolved.missing_key and not resolved.base_url_overridden)
    if go_offline:
        if not options.offline:
            print(
                f"alltoken-agent: {resolved.describe_missing_key()}; running on the built-in "
                "offline simulator (replies are simulated). Pass --offline to hide this notice.",
                file=sys.stderr,
            )
        gateway = Gateway.offline(
            resolved.provider,
            model=resolved.model,
            config=config,
            on_retry=on_retry,
            chunk_delay=OFFLINE_CHUNK_DELAY,
            transport=transport,
        )
    else:
        gateway = Gateway(
            resolved.provider,
            base_url=options.base_url,
            model=resolved.model,
            config=config,
            on_retry=on_retry,
            transport=transport,
        )
    try:
        yield gateway
    finally:
        await gateway.aclose()

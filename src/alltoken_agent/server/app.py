"""``create_app``: the HTTP API over an agent core, built from the core objects it serves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from alltoken_agent import Config, Gateway, __version__
from alltoken_agent.agent import DEFAULT_MODEL
from alltoken_agent.catalog import PriceLookup
from alltoken_agent.ledger import Ledger
from alltoken_agent.server.auth import AuthGate, Keyring
from alltoken_agent.server.console import mount_console
from alltoken_agent.server.context import CostTally, ServerContext
from alltoken_agent.server.cost_headers import CostHeaders
from alltoken_agent.server.errors import install_error_handlers
from alltoken_agent.server.guard import AuthFailures, HostCheck
from alltoken_agent.server.leases import SessionLeases
from alltoken_agent.server.limits import BodySizeLimit, ConcurrencyLimiter, RateLimiter
from alltoken_agent.server.media import MediaJobs
from alltoken_agent.server.routes import (
    job_resume,
    media,
    messages,
    meta,
    models,
    session_names,
    sessions,
    skill_chat,
    spend,
    usage,
)
from alltoken_agent.server.runs import RunRegistry
from alltoken_agent.server.settings import ServerOptions
from alltoken_agent.server.storage import StoreCalls
from alltoken_agent.server.turns import retry_reporter
from alltoken_agent.server.windows import ContextWindows
from alltoken_agent.store import Store

logger = logging.getLogger("alltoken_agent.server")
PRICES_WAIT = 10.0
"""Seconds the server's start waits for the catalog's prices before going on without."""
DOCS_ASSETS_PATH = "/docs-assets"
"""Where the Swagger UI and ReDoc files of /docs and /redoc are served (no CDN)."""
DESCRIPTION = """\
Agents on AllToken and other OpenAI-compatible gateways, over HTTP.

Create a session (a model, a system prompt, built-in tools), then send it messages: the
answer comes back as JSON, or with `Accept: text/event-stream` as the agent's events (the
same names and payloads as `alltoken-agent chat --json`). Every call under `/v1/` but
`/v1/capabilities` needs a server key: `Authorization: Bearer <key>`. Each key sees only
its own sessions, media jobs and usage; another key's session or job is a 404.

Image and video jobs (`POST /v1/images`, `POST /v1/videos`) answer 202 with the job; the
server runs it in the background (or queues it for `alltoken-agent worker` processes,
`serve --media-jobs workers`) and saves its files, which `GET /v1/jobs/{id}` lists with
the URLs to fetch them. A job still running when the server stops resumes when it
starts again.
"""


def create_app(
    gateway: Gateway,
    store: Store,
    *,
    options: ServerOptions | None = None,
    ledger: Ledger | None = None,
    config: Config | None = None,
) -> FastAPI:
    """Build the server's FastAPI app around a gateway and a store.

    The app registers observers on ``gateway`` (the ledger's, and its own per-request
    cost tally), chains its ``on_retry``, and journals media jobs in ``store``; it
    neither opens nor closes the gateway or the store: whoever made them closes them
    after the server stops.

    Args:
        gateway: The gateway every agent talks to (its key stays server-side).
        store: Sessions and the ledger; a PostgreSQL store lets replicas share them.
        options: Keys and limits; the defaults (no keys) make an open, local server.
        ledger: The usage ledger; by default one over ``store`` that prices requests
            from the gateway's catalog (loaded at startup, the disk cache's copy when
            fresh, with the config's ``[prices]`` on top) and reads the book the gateway
            is in at each query (a gateway reached by base URL learns from its first
            reply that a simulator answers). Its observer is added to ``gateway`` here:
            do not add it yourself.
        config: The config file's settings, for the agents (model families).

    Returns:
        The app; serve it with ``AppServer`` (graceful shutdown) or any ASGI server.
    """
    options = options or ServerOptions()
    config = config or Config()
    own_ledger = ledger is None
    ledger = ledger or Ledger(store, simulated=lambda: gateway.simulated)
    keyring = Keyring(options.keys)
    limiter = RateLimiter(options.rate_limit_per_minute, options.rate_limit_burst)
    calls = StoreCalls(ledger)
    windows = ContextWindows(gateway, config.context.lengths, gateway.model or DEFAULT_MODEL)
    leases = SessionLeases(store.sessions, calls, windows=windows)
    context = ServerContext(
        gateway=gateway,
        store=store,
        ledger=ledger,
        config=config,
        options=options,
        keyring=keyring,
        limiter=limiter,
        runs=RunRegistry(ConcurrencyLimiter(options.max_concurrent_runs), leases),
        tally=CostTally(ledger),
        calls=calls,
        media=MediaJobs(
            gateway,
            store,
            options.media_folder,
            owners=keyring.owners,
            max_per_owner=options.max_concurrent_jobs,
            sweep_every=options.media_sweep_interval,
            to_workers=options.media_jobs == "workers",
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if own_ledger:
            # Media costs come from prices (the gateway reports none for images and
            # videos), as they do for the CLI: without them every job's cost is unknown.
            ledger.prices = await _load_prices(gateway, config)
        windows.refresh()  # in the background: no turn waits for the catalog
        if options.resume_jobs:
            context.media.resume_at_startup()
        yield
        # Runs still in flight (a server without AppServer's drain) end with an error event;
        # media jobs stop and stay resumable.
        await context.runs.drain(0)
        await context.media.stop()
        await windows.stop()
        gateway.remove_observer(context.calls.ledger_observer)
        gateway.remove_observer(context.tally.observer)
        await asyncio.to_thread(context.calls.close)

    # /docs and /redoc load their scripts from files we serve, not a CDN: they work offline.
    app = FastAPIOffline(
        title="alltoken-agent",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS_PATH,
    )
    app.state.server = context
    gateway.add_observer(context.calls.ledger_observer)
    gateway.add_observer(context.tally.observer)
    gateway.on_retry = retry_reporter(gateway.on_retry)
    install_error_handlers(app, context.redact)
    routers = (sessions, session_names, messages, skill_chat, media, job_resume, usage, spend)
    for module in (*routers, models, meta):
        app.include_router(module.router)
    mount_console(app)
    # Added last runs first: the cost headers wrap the Host check (open servers), which
    # wraps the body limit, which wraps the gate, which wraps the messages' fast path
    # (it needs the caller the gate found), which wraps the routes.
    app.add_middleware(messages.MessageFastPath)
    failures = None
    if not keyring.open:
        failures = AuthFailures(options.auth_failure_limit, options.auth_failure_window)
    app.add_middleware(AuthGate, keyring=keyring, limiter=limiter, failures=failures)
    app.add_middleware(BodySizeLimit, max_bytes=options.max_body_bytes)
    if keyring.open:
        app.add_middleware(HostCheck)
        _drop_security(app)
    app.add_middleware(
        CostHeaders,
        keyring=keyring,
        remaining=context.budget_remaining,
        budgeted=options.daily_budget_usd is not None,
    )
    return app


async def _load_prices(gateway: Gateway, config: Config) -> PriceLookup:
    """The catalog's prices with the config's ``[prices]`` on top; only those if it is slow.

    ``Catalog.prices`` never fails (no catalog prices only the overrides), but an
    unreachable gateway must not hold the server's start for its whole timeout.
    """
    from alltoken_agent.catalog import Catalog, price_lookup

    try:
        return await asyncio.wait_for(Catalog(gateway).prices(config.prices), PRICES_WAIT)
    except asyncio.TimeoutError:
        logger.warning("no catalog prices after %ss; using the config's [prices] only", PRICES_WAIT)
        return price_lookup({}, config.prices)


def _drop_security(app: FastAPI) -> None:
    """On an open server, document no auth (the routes accept any caller)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.pop("security", None)
        schema.get("components", {}).pop("securitySchemes", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

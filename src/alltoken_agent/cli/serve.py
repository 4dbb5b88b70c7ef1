"""`alltoken-agent serve`: the HTTP API (FastAPI + uvicorn) in the foreground."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, cast

import typer

from alltoken_agent import AllTokenAgentError
from alltoken_agent.cli.exit_codes import INTERRUPTED, USAGE, describe, exit_code_for
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    ModelOpt,
    ProviderOpt,
    load_user_config,
    open_gateway,
)

if TYPE_CHECKING:
    from alltoken_agent import Config
    from alltoken_agent.server import ServerOptions
    from alltoken_agent.server.processes import WorkerSlot
    from alltoken_agent.server.settings import MediaJobsMode


def serve(
    host: Annotated[
        str,
        typer.Option(help="Interface to bind. A non-loopback host needs server keys."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free one).")] = 8000,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Answer from the built-in gateway simulator (in this process) instead of the "
            "network.",
        ),
    ] = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Database URL for sessions and usage (postgresql://... lets several replicas "
            "share them); default: the local SQLite file. Env: ALLTOKEN_AGENT_SERVER_STORE.",
            show_default=False,
        ),
    ] = None,
    media_dir: Annotated[
        Path | None,
        typer.Option(
            "--media-dir",
            help="Folder for the files of image and video jobs (one folder per key inside); "
            "default: media/server in the data folder. Env: ALLTOKEN_AGENT_SERVER_MEDIA_DIR.",
            show_default=False,
        ),
    ] = None,
    media_jobs: Annotated[
        Literal["server", "workers"] | None,
        typer.Option(
            "--media-jobs",
            case_sensitive=False,
            help="Who runs image and video jobs: server (this process) or workers "
            "(queued for `alltoken-agent worker` processes on the same --store, which save "
            "the files under the same --media-dir); default: [server] media_jobs, else "
            "server.",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"],
        typer.Option("--log-level", case_sensitive=False, help="uvicorn's log level."),
    ] = "info",
    processes: Annotated[
        int | None,
        typer.Option(
            "--processes",
            min=1,
            max=256,
            help="Server processes sharing the port, so they can use several cores (replicas "
            "on one --store). Rate limits, concurrent runs and jobs, and failed-auth limits count "
            "per process, so a key may get up to N times them; the daily budget and "
            "sessions per key are counted in the store. Not with --offline. Default: "
            "[server] processes, else 1.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve agents over HTTP: sessions, messages (JSON or server-sent events), media, usage.

    Callers authenticate with a server key (Authorization: Bearer KEY) from
    ALLTOKEN_AGENT_SERVER_KEYS (comma-separated) or [server] keys in the config file;
    each key sees only its own sessions. Without keys the server is open, so it only
    binds a loopback host. The gateway key stays in this process. Image and video
    jobs run in the background; their files are saved under --media-dir, and jobs
    still running at shutdown resume at the next start. API docs: /docs.
    With --processes N, N processes serve the one port as replicas on one store (a
    session runs on one of them at a time; a crashed one is replaced).

    \b
    Examples:
      alltoken-agent serve --offline
      ALLTOKEN_AGENT_SERVER_KEYS=$(python -c 'import secrets; print(secrets.token_urlsafe(32))') \\
        alltoken-agent serve --host 0.0.0.0 --port 8080 --store postgresql://agent@db/agent
    """
    from alltoken_agent.cli._input import check_params

    try:
        check_params()  # a flag with bytes that are not UTF-8: exit 2 before anything starts
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    try:
        from alltoken_agent.server import ServerOptions, bind_socket, is_loopback
        from alltoken_agent.server.runner import run as run_server
    except ImportError as exc:
        _fail(str(exc))
    try:
        config = load_user_config()
        options = ServerOptions.from_config(
            config,
            store_url=store,
            media_dir=media_dir,
            media_jobs=None if media_jobs is None else cast("MediaJobsMode", media_jobs.lower()),
        )
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    if options.open and not is_loopback(host):
        _fail(
            f"refusing to serve on {host} without server keys: anyone who reaches it could "
            "spend on the gateway key. Set ALLTOKEN_AGENT_SERVER_KEYS (or [server] keys in the "
            "config file), or bind 127.0.0.1."
        )
    if offline and options.media_jobs == "workers":
        _fail(
            "--offline keeps the gateway simulator inside this process, where no worker can "
            "reach its jobs: serve the simulator on a port (`alltoken-agent simulator`) and "
            "pass its --base-url to serve and the workers, or let this server run its media "
            "jobs (--media-jobs server)"
        )
    count = processes if processes is not None else config.server.processes
    if count > 1 and os.name != "posix":
        # The workers share one inherited socket, and a dead one's leases are freed by
        # looking its pid up: both are POSIX here.
        _fail("--processes above 1 needs Linux, macOS or another POSIX system")
    if offline and count > 1:
        _fail(
            "--offline keeps the gateway simulator inside each server process, so a media "
            "job one process started could not be finished by another: serve the simulator "
            "on a port (`alltoken-agent simulator`) and pass its --base-url, or use "
            "--processes 1"
        )
    gateway_options = GatewayOptions(
        provider=provider, base_url=base_url, model=model, offline=offline
    )
    if not offline:
        from alltoken_agent.gateway import resolve

        try:
            resolved = resolve(provider=provider, base_url=base_url, model=model, config=config)
        except AllTokenAgentError as exc:
            _fail(describe(exc), exit_code_for(exc))
        if resolved.missing_key and not resolved.base_url_overridden:
            _fail(f"{resolved.describe_missing_key()}; or pass --offline to serve the simulator")
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    if count > 1:
        try:
            code = _serve_processes(count, sock, host, options, config, gateway_options, log_level)
        except KeyboardInterrupt:  # Ctrl-C before the workers started
            code = INTERRUPTED
        finally:
            sock.close()
        raise typer.Exit(code)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops as gracefully as Ctrl-C
    try:
        # uvloop when installed (the server extra): the loop's own work is much of the
        # server's CPU with many open streams (server/runner.py).
        run_server(_serve(sock, host, options, config, gateway_options, log_level.lower()))
    except KeyboardInterrupt:
        pass
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    finally:
        sock.close()


async def _serve(
    sock: socket.socket,
    host: str,
    options: ServerOptions,
    config: Config,
    gateway_options: GatewayOptions,
    log_level: str,
    slot: WorkerSlot | None = None,
) -> None:
    """Serve ``sock`` in this process: the whole server, or one worker (``slot``) of several."""
    import uvicorn.config

    from alltoken_agent.server import AppServer, create_app, uvicorn_config
    from alltoken_agent.store import Store

    url = options.store_url.get_secret_value() if options.store_url else None
    state = await asyncio.to_thread(Store, url)
    try:
        async with open_gateway(gateway_options) as gateway:
            app = create_app(gateway, state, options=options, config=config)
            if slot is None:
                _announce(sock, host)
                await asyncio.to_thread(_describe, options, state.url)
            settings: dict[str, Any] = {"log_level": log_level}
            settings["log_config"] = uvicorn.config.LOGGING_CONFIG
            if slot is not None:
                from alltoken_agent.server.processes import tagged_log_config

                settings["log_config"] = tagged_log_config(settings["log_config"], slot.tag)
            server = AppServer(
                uvicorn_config(app, **settings), on_started=None if slot is None else slot.ready
            )
            await server.serve(sockets=[sock])
    finally:
        state.close()


def _announce(sock: socket.socket, host: str) -> None:
    port = sock.getsockname()[1]
    where = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(f"alltoken-agent server on {where} (API docs: {where}/docs)", flush=True)


def _describe(options: ServerOptions, store_url: str) -> None:
    """The server's notes on stderr: open or not, where its state and files go."""
    if options.open:
        print(
            "alltoken-agent: no server keys are set, so any program on this machine "
            "may use this server (set ALLTOKEN_AGENT_SERVER_KEYS to require a key)",
            file=sys.stderr,
        )
    print(f"alltoken-agent: sessions and usage in {store_url}", file=sys.stderr)
    print(f"alltoken-agent: media files in {options.media_folder}", file=sys.stderr)
    if options.media_jobs == "workers":
        options.media_folder.mkdir(parents=True, exist_ok=True)
        print(
            "alltoken-agent: media jobs are queued for workers; run `alltoken-agent "
            f"worker --watch --media-dir {options.media_folder}` with this server's "
            "store (--store) to run them",
            file=sys.stderr,
        )


def _serve_processes(
    count: int,
    sock: socket.socket,
    host: str,
    options: ServerOptions,
    config: Config,
    gateway_options: GatewayOptions,
    log_level: str,
) -> int:
    """Run ``count`` worker processes on ``sock`` (server/processes.py); the exit code.

    The store is opened here first, once: its migrations (and the spool's replay) run
    before any worker starts, so no two processes race to migrate it.
    """
    from alltoken_agent.server.processes import supervise
    from alltoken_agent.server.runner import CONNECTION_GRACE
    from alltoken_agent.store import Store

    url = options.store_url.get_secret_value() if options.store_url else None
    try:
        with Store(url) as state:
            store_url = state.url
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    _describe(options, store_url)
    print(f"alltoken-agent: {count} server processes share the port", file=sys.stderr)
    options = dataclasses.replace(options, processes=count)  # told in /v1/capabilities
    return supervise(
        count,
        sock,
        _worker,
        (host, options, config, gateway_options, log_level),
        # Each worker drains its runs, then closes its connections; then some slack.
        stop_timeout=options.shutdown_grace + CONNECTION_GRACE + 10,
        announce=lambda: _announce(sock, host),
    )


def _worker(
    sock: socket.socket,
    slot: WorkerSlot,
    host: str,
    options: ServerOptions,
    config: Config,
    gateway_options: GatewayOptions,
    log_level: str,
) -> None:
    """One worker of ``serve --processes N`` (in a spawned process): serve until SIGTERM."""
    from alltoken_agent.server.runner import run as run_server

    signal.signal(signal.SIGTERM, _interrupt)  # the parent's stop: graceful, as with one
    try:
        run_server(_serve(sock, host, options, config, gateway_options, log_level, slot))
    except KeyboardInterrupt:
        pass
    except AllTokenAgentError as exc:
        message = describe(exc)
        print(message if message.startswith("error:") else f"error: {message}", file=sys.stderr)
        raise SystemExit(exit_code_for(exc)) from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _fail(message: str, code: int = USAGE) -> NoReturn:
    print(message if message.startswith("error:") else f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)

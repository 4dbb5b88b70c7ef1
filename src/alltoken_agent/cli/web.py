"""`alltoken-agent web`: the web console on a local server, opened in the browser."""

from __future__ import annotations

import signal
import sys
import webbrowser
from typing import Annotated, NoReturn

import typer

from alltoken_agent import AllTokenAgentError
from alltoken_agent.cli.exit_codes import USAGE, describe, exit_code_for
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    ModelOpt,
    ProviderOpt,
    load_user_config,
)

HOST = "127.0.0.1"


def web(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port on 127.0.0.1 (0: any free one).")
    ] = 0,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Answer from the built-in gateway simulator instead of the network."
        ),
    ] = False,
    open_browser: Annotated[
        bool,
        typer.Option("--open/--no-open", help="Open the console in the browser (else print it)."),
    ] = True,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
) -> None:
    """Open the web console: chat, media gallery and spend, on a server on this machine.

    The server listens on 127.0.0.1 only. Without server keys the console opens at
    once; with ALLTOKEN_AGENT_SERVER_KEYS (or [server] keys) set it asks for one, and
    keeps it in the browser tab only. With no gateway key it runs on the built-in
    simulator and says so. Ctrl-C stops it. Needs the server extra.

    \b
    Examples:
      alltoken-agent web
      alltoken-agent web --offline --no-open --port 8080
    """
    from alltoken_agent.cli._input import check_params

    try:
        check_params()
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    try:
        from alltoken_agent.server import ServerOptions, bind_socket
        from alltoken_agent.server.runner import run as run_server
    except ImportError as exc:
        _fail(str(exc))
    from alltoken_agent.cli.serve import _interrupt, _serve

    try:
        config = load_user_config()
        options = ServerOptions.from_config(config)
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    gateway_options = GatewayOptions(
        provider=provider, base_url=base_url, model=model, offline=offline
    )
    try:
        sock = bind_socket(HOST, port)
    except OSError as exc:
        _fail(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}")
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    # The socket listens already: a browser that connects before the app starts waits.
    print(f"alltoken-agent console on {url}", flush=True)
    if open_browser and not webbrowser.open(url):
        print("alltoken-agent: no browser could be opened; open the address above", file=sys.stderr)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_server(_serve(sock, HOST, options, config, gateway_options, "warning"))
    except KeyboardInterrupt:
        pass
    except AllTokenAgentError as exc:
        _fail(describe(exc), exit_code_for(exc))
    finally:
        sock.close()


def _fail(message: str, code: int = USAGE) -> NoReturn:
    print(message if message.startswith("error:") else f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)

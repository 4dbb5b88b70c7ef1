"""`alltoken-agent simulator`: serve the offline gateway simulator in the foreground."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from alltoken_agent.cli.exit_codes import USAGE

DEFAULT_PORT = 8765
"""The simulator's port; ``mcp --transport http`` and ``serve`` default to others."""


def simulator(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one).")
    ] = DEFAULT_PORT,
    dialect: Annotated[
        str, typer.Option(help="Wire dialect: alltoken or tokenhub.", case_sensitive=False)
    ] = "alltoken",
    host: Annotated[
        str, typer.Option(help="Interface to bind; loopback unless you mean it.")
    ] = "127.0.0.1",
    chunk_delay: Annotated[
        float, typer.Option(min=0.0, help="Seconds between streamed chunks.")
    ] = 0.0,
) -> None:
    """Serve the offline gateway simulator (OpenAI-compatible, deterministic, no network).

    Point any OpenAI-compatible client at http://127.0.0.1:PORT/v1 with any API key
    (it must send one, as a real gateway wants; the simulator takes any).

    \b
    Examples:
      alltoken-agent simulator --port 8765
      ALLTOKEN_API_KEY=sim alltoken-agent chat --base-url http://127.0.0.1:8765/v1 "hello"
      alltoken-agent simulator --dialect tokenhub --chunk-delay 0.05
    """
    from alltoken_agent.simulator import DIALECTS, run

    chosen = dialect.lower()
    if chosen not in DIALECTS:
        print(
            f"error: unknown dialect {dialect!r}; choose one of: {', '.join(DIALECTS)}",
            file=sys.stderr,
        )
        raise typer.Exit(USAGE)
    # No banner here: `run` logs the URL once the port is bound (with --port 0 only
    # then is it known, and a host it refuses must not be announced first).
    try:
        run(host, port, chosen, chunk_delay=chunk_delay)
    except OSError as error:
        print(f"error: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        raise typer.Exit(USAGE) from None
    except ValueError as error:  # a host that is not loopback
        print(f"error: {error}", file=sys.stderr)
        raise typer.Exit(USAGE) from None
    except KeyboardInterrupt:
        pass

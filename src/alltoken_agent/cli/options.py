"""Options every gateway command shares, and opening a gateway from them.

Command modules import the option aliases at import time, for their signatures, so
this module imports only Typer then; the gateway and the config loader are imported
when a command runs. Opening a gateway from the flags lives in
:mod:`alltoken_agent.cli._gateway_options` (no Typer), whose names this module hands
out on first use (PEP 562), so ``chat --help`` does not load it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from alltoken_agent._lazy_exports import lazy_exports

# httpx imports its own command-line client (click, rich, pygments: about a third of
# httpx's import time) whenever those happen to be installed, and falls back to a stub
# when that import fails. No command here runs httpx's client, so the import is made to
# fail before the gateway imports httpx; a process that imported httpx first keeps it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from alltoken_agent.cli._gateway_options import OFFLINE_CHUNK_DELAY as OFFLINE_CHUNK_DELAY
    from alltoken_agent.cli._gateway_options import GatewayOptions as GatewayOptions
    from alltoken_agent.cli._gateway_options import load_user_config as load_user_config
    from alltoken_agent.cli._gateway_options import observing_ledger as observing_ledger
    from alltoken_agent.cli._gateway_options import (
        one_at_a_time_transport as one_at_a_time_transport,
    )
    from alltoken_agent.cli._gateway_options import open_gateway as open_gateway
    from alltoken_agent.cli._gateway_options import print_retry as print_retry
    from alltoken_agent.cli._gateway_options import retry_notices as retry_notices
    from alltoken_agent.cli._gateway_options import with_deadlines as with_deadlines

# Loaded on first use (the TYPE_CHECKING imports above say the same to type checkers).
lazy_exports(
    globals(),
    {
        "alltoken_agent.cli._gateway_options": (
            "OFFLINE_CHUNK_DELAY",
            "GatewayOptions",
            "load_user_config",
            "observing_ledger",
            "one_at_a_time_transport",
            "open_gateway",
            "print_retry",
            "retry_notices",
            "with_deadlines",
        )
    },
)


ProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--provider",
        "-p",
        help="Provider profile: alltoken (default), tokenhub, openai, or one from the config "
        "file. Env: ALLTOKEN_AGENT_PROVIDER.",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible base URL; overrides the provider's. Env: ALLTOKEN_AGENT_BASE_URL.",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model id; defaults to the config's, then the provider's. Env: ALLTOKEN_AGENT_MODEL.",
        show_default=False,
    ),
]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Talk to the built-in gateway simulator over loopback instead of the network "
        "(the default when no API key is set).",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print NDJSON events, one JSON object per line.")
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.001,
        help="Seconds the whole request may take, retries and reply included "
        "([timeouts] total; default 600).",
        show_default=False,
    ),
]
IdleTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--idle-timeout",
        min=0.001,
        help="Seconds a streamed reply may go without data; keep-alive comments do not "
        "count ([timeouts] idle; default 120).",
        show_default=False,
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Say on stderr when a request is retried.")
]
MediaTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.001,
        help="Seconds each request (a submit, one poll, a download) may take, retries "
        "included; the job's wait for its result is not one request ([timeouts] total; "
        "default 600).",
        show_default=False,
    ),
]
MediaIdleTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--idle-timeout",
        min=0.001,
        help="Seconds a reply may pause between bytes ([timeouts] idle; default 120).",
        show_default=False,
    ),
]

"""What every catalog command shares: ``--refresh`` and a ``Catalog`` that tells of stale copies.

``models``, ``models show``, ``models filters``, ``models provider-stats`` and
``health`` all read through ``open_catalog``, so each says the same way when a cached
copy stands in for an unreachable gateway, and reports retries the same way.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from alltoken_agent.cli.options import GatewayOptions, open_gateway, retry_notices
from alltoken_agent.cli.output import EventWriter

if TYPE_CHECKING:  # the catalog (and the gateway behind it) is imported when a command runs
    from alltoken_agent.catalog import Catalog, StaleNotice

RefreshOpt = Annotated[
    bool, typer.Option("--refresh", help="Ask the gateway again instead of using the cache.")
]


def stale_printer(writer: EventWriter) -> Callable[[StaleNotice], None]:
    """Say on stderr (or as a ``notice`` event with --json) that cached data stands in."""

    def show(notice: StaleNotice) -> None:
        if writer.enabled:
            writer.emit("notice", message=notice.message, stale=True, age_s=round(notice.age))
        else:
            print(f"alltoken-agent: {notice.message}", file=sys.stderr)

    return show


@asynccontextmanager
async def open_catalog(options: GatewayOptions, writer: EventWriter) -> AsyncIterator[Catalog]:
    """The catalog of the gateway the flags ask for, closed with it on exit."""
    from alltoken_agent.catalog import Catalog

    async with open_gateway(options, on_retry=retry_notices(writer, options)) as gateway:
        catalog = Catalog(gateway, on_stale=stale_printer(writer))
        yield catalog
        # A simulator reached by base URL (the offline one says so when it starts): its
        # figures must not pass for a gateway's. --json lines carry `simulated` instead.
        if catalog.simulated and gateway.offline_simulator is None and not writer.enabled:
            print(
                "alltoken-agent: the simulator answered (X-Simulator): these figures are "
                "made up, not a gateway's",
                file=sys.stderr,
            )

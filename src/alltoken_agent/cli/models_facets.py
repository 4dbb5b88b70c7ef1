"""`alltoken-agent models filters` and `models provider-stats`: two public catalog answers.

Neither shape is documented (docs/wire-format.md §1.6), so the table shows what reads
as facets or flat statistics, and `--json` prints the gateway's answer as it came
(one ``model_filters`` or ``provider_stats`` event with the body under ``data``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from alltoken_agent.cli._catalog import RefreshOpt, open_catalog
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    JsonOpt,
    OfflineOpt,
    ProviderOpt,
)
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.cli.terminal import render_table

if TYPE_CHECKING:
    from alltoken_agent.gateway import ModelFilters, ProviderStats


def filters(
    refresh: RefreshOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Show the public catalog's filter facets: brands, families, modalities, tags, ...

    Cached for an hour. AllToken only (GET /api-account/models/filters, no key).

    \b
    Examples:
      alltoken-agent models filters
      alltoken-agent models filters --json | jq .data
    """
    options = GatewayOptions(provider=provider, base_url=base_url, offline=offline)
    writer = EventWriter(enabled=json_output)
    run_command(lambda: _filters(options, writer, refresh), writer)


def provider_stats(
    provider_id: Annotated[
        str, typer.Argument(metavar="PROVIDER_ID", help="An upstream provider id, e.g. openai.")
    ],
    refresh: RefreshOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Show one upstream provider's statistics: requests, error rate, latency, throughput.

    Cached for a minute. AllToken only (GET /api-account/providers/ID/stats, no key).

    \b
    Examples:
      alltoken-agent models provider-stats anthropic
      alltoken-agent models provider-stats openai --json
    """
    options = GatewayOptions(provider=provider, base_url=base_url, offline=offline)
    writer = EventWriter(enabled=json_output)
    run_command(lambda: _provider_stats(options, writer, provider_id, refresh), writer)


async def _filters(options: GatewayOptions, writer: EventWriter, refresh: bool) -> None:
    async with open_catalog(options, writer) as catalog:
        found = await catalog.filters(refresh)
    if writer.enabled:
        writer.emit("model_filters", data=found.body, simulated=catalog.simulated)
        return
    print_filters(found)


async def _provider_stats(
    options: GatewayOptions, writer: EventWriter, provider_id: str, refresh: bool
) -> None:
    async with open_catalog(options, writer) as catalog:
        stats = await catalog.provider_stats(provider_id, refresh)
    if writer.enabled:
        writer.emit(
            "provider_stats",
            provider=stats.provider,
            data=stats.body,
            simulated=catalog.simulated,
        )
        return
    print_provider_stats(stats)


def print_filters(found: ModelFilters) -> None:
    """One row per facet; a shape with no facets says so instead of an empty table."""
    if not found.facets:
        print("the gateway sent no filter facets this client can read (see --json)")
        return
    rows = [[name, ", ".join(values) or "-"] for name, values in found.facets.items()]
    render_table([("FACET", "left"), ("VALUES", "left")], rows)


def print_provider_stats(stats: ProviderStats) -> None:
    """One row per statistic, the provider first."""
    rows = [["provider", stats.provider]]
    rows += [[name, _cell(value)] for name, value in stats.stats.items()]
    render_table([("FIELD", "left"), ("VALUE", "left")], rows, header=False)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)

"""`alltoken-agent health`: the gateway's route health, in one line or per route."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from alltoken_agent.cli._catalog import RefreshOpt, open_catalog
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    JsonOpt,
    OfflineOpt,
    ProviderOpt,
    VerboseOpt,
)
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.cli.terminal import Align, number, render_table

if TYPE_CHECKING:
    from alltoken_agent.gateway import HealthSummary, RouteHealth

_SEVERITY = {"incident": 0, "degraded": 1, "unknown": 2, "healthy": 3}


def health(
    routes: Annotated[
        bool, typer.Option("--routes", help="One line per route: availability, latency, speed.")
    ] = False,
    time_range: Annotated[
        Literal["1h", "24h", "7d", "30d"],
        typer.Option("--range", help="Time range of --routes."),
    ] = "24h",
    refresh: RefreshOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Show route health from the public health endpoints (AllToken; no key needed).

    Cached for 60 s; when the gateway cannot be reached, an older copy is used and
    stderr says so. Routes with trouble are listed first.

    \b
    Examples:
      alltoken-agent health
      alltoken-agent health --routes --range 7d
      alltoken-agent health --routes --json | jq 'select(.status != "healthy")'
    """
    options = GatewayOptions(provider=provider, base_url=base_url, offline=offline, verbose=verbose)
    writer = EventWriter(enabled=json_output)
    run_command(lambda: _health(options, writer, routes, time_range, refresh), writer)


async def _health(
    options: GatewayOptions, writer: EventWriter, with_routes: bool, time_range: str, refresh: bool
) -> None:
    async with open_catalog(options, writer) as catalog:
        summary = await catalog.health(refresh)
        routes = await catalog.routes(time_range, refresh) if with_routes else []
    routes = sorted(routes, key=lambda r: (_SEVERITY[r.status], r.model, r.provider or ""))
    if writer.enabled:
        # Every line says whether the simulator made its figures up (never a real check).
        simulated = catalog.simulated
        writer.emit("health", **summary.to_dict(), simulated=simulated)
        for route in routes:
            writer.emit("route", time_range=time_range, **route.to_dict(), simulated=simulated)
        return
    print(_summary_line(summary))
    if with_routes:
        _print_routes(routes)


def _summary_line(summary: HealthSummary) -> str:
    def count(value: int | None) -> str:
        return "?" if value is None else str(value)

    parts = [
        f"{count(summary.total_routes)} routes: {count(summary.healthy_routes)} healthy, "
        f"{count(summary.degraded_routes)} degraded, {count(summary.incident_routes)} incident"
    ]
    if summary.median_latency_ms is not None:
        parts.append(f"median latency {summary.median_latency_ms} ms")
    if summary.overall_availability is not None:
        parts.append(f"availability {summary.overall_availability:g}%")
    return "; ".join(parts)


def _print_routes(routes: list[RouteHealth]) -> None:
    columns: list[tuple[str, Align]] = [
        ("MODEL", "left"),
        ("PROVIDER", "left"),
        ("STATUS", "left"),
        ("AVAIL %", "right"),
        ("P50 MS", "right"),
        ("P95 MS", "right"),
        ("TOK/S", "right"),
    ]
    rows = [
        [
            r.model,
            r.provider or "-",
            r.status,
            "-" if r.availability is None else f"{r.availability:.2f}",
            number(r.latency_p50_ms),
            number(r.latency_p95_ms),
            number(r.throughput_tps),
        ]
        for r in routes
    ]
    render_table(columns, rows)

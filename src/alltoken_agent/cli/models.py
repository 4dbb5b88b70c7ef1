"""`alltoken-agent models`: list models, the public catalog, or one model in detail."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from alltoken_agent import NotFoundError, UserError
from alltoken_agent.cli._catalog import RefreshOpt, open_catalog
from alltoken_agent.cli.models_facets import filters, provider_stats
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
from alltoken_agent.money import format_price, price_text

if TYPE_CHECKING:  # the catalog (and the gateway behind it) is imported when a command runs
    from alltoken_agent.gateway import CatalogEntry, ModelInfo, Rankings

models_app = typer.Typer(
    name="models",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# -- models -------------------------------------------------------------------------

Modality = Literal["text", "vision", "image", "video", "audio"]
Sort = Literal["price", "speed", "rank"]
ModalityOpt = Annotated[
    Modality | None,
    typer.Option(
        "--modality",
        help="Only models of this modality (vision = chat that reads images).",
        show_default=False,
    ),
]
SortOpt = Annotated[
    Sort | None,
    typer.Option(
        "--sort",
        help="With --catalog: cheapest first (3:1 input:output blend), fastest first, "
        "or best benchmark rank first.",
        show_default=False,
    ),
]


@models_app.callback(invoke_without_command=True)
def models(
    ctx: typer.Context,
    modality: ModalityOpt = None,
    catalog: Annotated[
        bool,
        typer.Option(
            "--catalog", help="The public catalog: prices and capabilities (AllToken; no key)."
        ),
    ] = False,
    sort: SortOpt = None,
    refresh: RefreshOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """List the gateway's models (GET /models), or with --catalog its public catalog.

    Answers are cached on disk (model list 10 min, catalog and rankings 1 h); when the
    gateway cannot be reached, an older copy is used and stderr says so.

    \b
    Examples:
      alltoken-agent models --modality video
      alltoken-agent models --catalog --sort price
      alltoken-agent models --catalog --sort speed --json | jq -r .id
      alltoken-agent models show gpt-5.4
    """
    if ctx.invoked_subcommand is not None:
        return
    options = GatewayOptions(provider=provider, base_url=base_url, offline=offline, verbose=verbose)
    writer = EventWriter(enabled=json_output)
    run_command(lambda: _models(options, writer, modality, catalog, sort, refresh), writer)


models_app.command("filters")(filters)
models_app.command("provider-stats")(provider_stats)


@models_app.command("show")
def show(
    model_id: Annotated[str, typer.Argument(metavar="ID", help="The model id.")],
    refresh: RefreshOpt = False,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    offline: OfflineOpt = False,
    verbose: VerboseOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Show one model: price, context, capabilities (from the catalog where there is one).

    \b
    Examples:
      alltoken-agent models show gpt-5.4
      alltoken-agent models show deepseek-v4-pro --json
    """
    options = GatewayOptions(provider=provider, base_url=base_url, offline=offline, verbose=verbose)
    writer = EventWriter(enabled=json_output)
    run_command(lambda: _show(options, writer, model_id, refresh), writer)


async def _models(
    options: GatewayOptions,
    writer: EventWriter,
    modality: str | None,
    use_catalog: bool,
    sort: str | None,
    refresh: bool,
) -> None:
    if sort is not None and not use_catalog:
        raise UserError("--sort needs --catalog (prices, speed and ranks come from the catalog)")
    async with open_catalog(options, writer) as catalog:
        if not use_catalog:
            models = await catalog.models(modality, refresh=refresh)
            _print_models(models, writer, catalog.simulated)
            return
        entries = [
            e for e in await catalog.entries(refresh) if modality is None or e.modality == modality
        ]
        rankings = await catalog.rankings(refresh) if sort in ("speed", "rank") else None
        _print_entries(_sorted(entries, sort, rankings), sort, rankings, writer, catalog.simulated)


async def _show(options: GatewayOptions, writer: EventWriter, model_id: str, refresh: bool) -> None:
    async with open_catalog(options, writer) as catalog:
        gateway = catalog.gateway
        if gateway.provider.public_base_url is not None:
            entry = await catalog.entry(model_id, refresh)
            data = entry.to_dict()
            fields = {**data, "price": _price_text(entry)}
        else:
            found = [m for m in await catalog.models(refresh=refresh) if m.id == model_id]
            if not found:
                raise NotFoundError(
                    f"{gateway.provider.name} lists no model {model_id!r}; "
                    "`alltoken-agent models` shows the ids",
                    status=404,
                )
            data = fields = found[0].to_dict()
        if writer.enabled:
            writer.emit("model", **data, simulated=catalog.simulated)
            return
        rows = [[name, _cell(value)] for name, value in fields.items() if value not in (None, [])]
        render_table([("FIELD", "left"), ("VALUE", "left")], rows, header=False)


def _print_models(models: list[ModelInfo], writer: EventWriter, simulated: bool) -> None:
    if writer.enabled:
        for model in models:
            writer.emit("model", **model.to_dict(), simulated=simulated)
        return
    rows = [
        [m.id, m.modality or "-", m.display_name or "", m.brand or m.owned_by or ""] for m in models
    ]
    columns: list[tuple[str, Align]] = [
        ("ID", "left"),
        ("MODALITY", "left"),
        ("NAME", "left"),
        ("BY", "left"),
    ]
    render_table(columns, rows)


def _sorted(
    entries: list[CatalogEntry], sort: str | None, rankings: Rankings | None
) -> list[CatalogEntry]:
    if sort == "price":
        return sorted(entries, key=_price_key)
    if sort == "speed":
        speed = {r.model: r.tokens_per_second for r in (rankings.speed if rankings else ())}
        return sorted(entries, key=lambda e: (speed.get(e.id) is None, -(speed.get(e.id) or 0)))
    if sort == "rank":
        ranks = {r.model: r.rank for r in (rankings.benchmark if rankings else ())}
        return sorted(entries, key=lambda e: (e.id not in ranks, ranks.get(e.id, 0), e.id))
    return entries


def _price_key(entry: CatalogEntry) -> tuple[int, Decimal, str]:
    """Chat models by blended price, then media by unit price, then the unpriced."""
    from alltoken_agent.catalog import blended_price

    blend = blended_price(entry.price)
    if blend is not None:
        return (0, blend, entry.id)
    price = entry.price
    unit = None if price is None else price.per_image or price.per_video_second
    return (1, unit, entry.id) if unit is not None else (2, Decimal(0), entry.id)


def _print_entries(
    entries: list[CatalogEntry],
    sort: str | None,
    rankings: Rankings | None,
    writer: EventWriter,
    simulated: bool,
) -> None:
    from alltoken_agent.catalog import blended_price

    speed = {r.model: r for r in (rankings.speed if rankings else ())}
    ranks = {r.model: r.rank for r in (rankings.benchmark if rankings else ())}
    if writer.enabled:
        for entry in entries:
            extra: dict[str, Any] = {}
            if sort == "price":
                blend = blended_price(entry.price)
                extra["blended_per_1k"] = None if blend is None else f"{blend.normalize():f}"
            elif sort == "speed":
                hit = speed.get(entry.id)
                extra["tokens_per_second"] = hit.tokens_per_second if hit else None
                extra["ttft_ms"] = hit.ttft_ms if hit else None
            elif sort == "rank":
                extra["benchmark_rank"] = ranks.get(entry.id)
            writer.emit("model", **entry.to_dict(), **extra, simulated=simulated)
        return
    columns: list[tuple[str, Align]] = [
        ("ID", "left"),
        ("MODALITY", "left"),
        ("PRICE (USD)", "left"),
        ("CONTEXT", "right"),
    ]
    if sort == "speed":
        columns.append(("TOK/S", "right"))
    if sort == "rank":
        columns.append(("RANK", "right"))
    # Last, space-separated: the one column that may wrap on a narrow terminal.
    columns.append(("CAPABILITIES", "left"))
    rows = []
    for entry in entries:
        row = [entry.id, entry.modality or "-", _price_text(entry), _tokens(entry.context_length)]
        if sort == "speed":
            fast = speed.get(entry.id)
            row.append(number(fast.tokens_per_second if fast else None))
        if sort == "rank":
            rank = ranks.get(entry.id)
            row.append("-" if rank is None else f"#{rank}")
        row.append(" ".join(sorted(entry.capabilities)) or "-")
        rows.append(row)
    render_table(columns, rows)


def _price_text(entry: CatalogEntry) -> str:
    price = entry.price
    if price is None:
        return "-"
    if price.input_per_1k is not None or price.output_per_1k is not None:
        return price_text(price.input_per_1k, price.output_per_1k)
    if price.per_image is not None:
        return f"{format_price(price.per_image)} per image"
    if price.per_video_second is not None:
        return f"{format_price(price.per_video_second)} per second"
    return "-"


def _tokens(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    return f"{value / 1000:.0f}K" if value >= 1000 else str(value)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
    return str(value)

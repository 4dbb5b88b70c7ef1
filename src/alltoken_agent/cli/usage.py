"""`alltoken-agent usage`: what the requests recorded in the local ledger used and cost."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from alltoken_agent import UserError
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.cli.terminal import rich_console

if TYPE_CHECKING:  # Rich, the ledger and the store are imported when the command runs
    from rich.console import Console
    from rich.table import Table

    from alltoken_agent.ledger import ReportBy, ReportRow, UsageReport

BAR_WIDTH = 40
"""Characters of the longest bar in the per-day chart."""
MAX_CHART_DAYS = 62
"""Longer periods chart only their last days, so the chart stays readable."""

_HEADINGS = {"model": "Model", "day": "Day (UTC)", "session": "Session"}
_COLUMNS = ("requests", "prompt_tokens", "completion_tokens", "cost", "unknown_cost_requests")


def usage(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Start of the period: a span back from now (7d, 24h, 30m, 2w) or a UTC date "
            "or time (2026-11-01, 2026-11-01T12:00).",
        ),
    ] = "7d",
    by: Annotated[
        str, typer.Option("--by", help="Group by model, day or session.", show_default=True)
    ] = "model",
    session: Annotated[
        str | None,
        typer.Option(
            "--session", help="Only requests made under this session name.", show_default=False
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON document.")
    ] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print the report as CSV.")] = False,
    simulated: Annotated[
        bool,
        typer.Option(
            "--simulated",
            help="Report the offline runs (made against the built-in simulator) instead of "
            "the real requests; their costs are made up and never count toward a budget.",
        ),
    ] = False,
) -> None:
    """Show the tokens and cost of the requests recorded locally, with totals.

    Reads the local ledger only; no gateway is contacted. Costs come from the
    gateway's own report when it sent one, else from catalog prices (estimated);
    requests with neither are counted as "unknown cost" and left out of the totals.
    Offline runs are kept apart: see them with --simulated.

    \b
    Examples:
      alltoken-agent usage
      alltoken-agent usage --since 24h --by session
      alltoken-agent usage --since 2026-11-01 --by day --csv > november.csv
      alltoken-agent usage --simulated
    """
    writer = EventWriter(enabled=False)

    async def main() -> None:
        _usage(
            since,
            by,
            session,
            json_output=json_output,
            csv_output=csv_output,
            simulated=simulated,
        )

    run_command(main, writer)


def _usage(
    since_text: str,
    by: str,
    session: str | None,
    *,
    json_output: bool,
    csv_output: bool,
    simulated: bool,
) -> None:
    from alltoken_agent.ledger import Ledger, parse_since
    from alltoken_agent.store import Store

    if json_output and csv_output:
        raise UserError("choose one of --json and --csv")
    key = _report_key(by)
    try:
        since = parse_since(since_text)
    except UserError as error:
        raise UserError(f"--since: {error}") from None
    with Store() as store:
        ledger = Ledger(store, simulated=simulated)
        report = ledger.report(since, key, session=session)
        tty = sys.stdout.isatty() and not (json_output or csv_output)
        daily = ledger.report(since, "day", session=session) if tty else None
        hidden = 0
        if not simulated and not (json_output or csv_output):
            offline = Ledger(store, simulated=True).spent(since=since, session=session)
            hidden = offline.requests
    if json_output:
        document = report.to_dict()
        document["session"] = session
        # A group whose every request has an unknown cost has no cost, not a zero one.
        # Likewise tokens: no request of the group with known usage is no sum, not 0.
        lines = [*document["rows"], document["totals"]]
        for line, row in zip(lines, [*report.rows, report.totals], strict=True):
            line["cost"] = line["cost"] if row.cost_known else None
            if not row.usage_known:
                line["prompt_tokens"] = line["completion_tokens"] = None
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif csv_output:
        write_csv(report, sys.stdout)
    elif tty:
        render_rich(report, rich_console(), daily=daily)
    else:
        sys.stdout.write(render_plain(report))
    if hidden:
        noun = "request" if hidden == 1 else "requests"
        print(
            f"{hidden:,} offline {noun} to the simulator in this period not shown; "
            "see them with --simulated.",
            file=sys.stderr,
        )


def _report_key(by: str) -> ReportBy:
    from alltoken_agent.ledger import REPORT_KEYS

    for key in REPORT_KEYS:
        if by == key:
            return key
    raise UserError(f"--by {by!r} is not one of {', '.join(REPORT_KEYS)}")


def write_csv(report: UsageReport, out: TextIO) -> None:
    """One CSV line per group: key, requests, tokens, exact cost, unknown-cost requests."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([report.by, *_COLUMNS])
    for row in report.rows:
        data = row.to_dict()
        if not row.cost_known:
            data["cost"] = ""  # every request of the group has an unknown cost: not 0
        writer.writerow([row.key or "", *(data[name] for name in _COLUMNS)])


def unknown_note(report: UsageReport) -> str | None:
    """The line naming requests of unknown cost ("3 requests with ..."), or None without any."""
    count = report.totals.unknown_cost_requests
    if not count:
        return None
    noun = "request" if count == 1 else "requests"
    return f"{count} {noun} with unknown cost (not in the totals)"


def _title(report: UsageReport) -> str:
    since = "all time" if report.since is None else f"since {_moment(report.since)}"
    what = "Simulated usage (offline runs, costs made up)" if report.simulated else "Usage"
    return f"{what} {since}, by {report.by}"


def _moment(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    if moment.time() == datetime.min.time():
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _cells(row: ReportRow) -> list[str]:
    from alltoken_agent.ledger import format_usd

    return [
        f"{row.requests:,}",
        f"{row.prompt_tokens:,}" if row.usage_known else "unknown",
        f"{row.completion_tokens:,}" if row.usage_known else "unknown",
        format_usd(row.cost) if row.cost_known else "unknown",
        f"{row.unknown_cost_requests:,}",
    ]


_HEADER = ["Requests", "Prompt tokens", "Completion tokens", "Cost", "Unknown cost"]


def render_plain(report: UsageReport) -> str:
    """The report as aligned plain text, for pipes and logs."""
    lines = [_title(report)]
    if not report.rows:
        return "\n".join([*lines, "No requests recorded in this period.", ""])
    table = [[_HEADINGS[report.by], *_HEADER]]
    table += [[row.key or "-", *_cells(row)] for row in report.rows]
    table.append(["Total", *_cells(report.totals)])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        first = line[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))
        lines.append("  ".join([first, *rest]).rstrip())
    note = unknown_note(report)
    if note:
        lines.append(note)
    return "\n".join(lines) + "\n"


def render_rich(report: UsageReport, console: Console, *, daily: UsageReport | None) -> None:
    """The report as a Rich table, then a bar chart of spend per day (for a terminal)."""
    from rich.table import Table

    if not report.rows:
        console.print(_title(report))
        console.print("No requests recorded in this period.")
        return
    table = Table(title=_title(report), show_footer=True, title_justify="left")
    table.add_column(_HEADINGS[report.by], footer="Total")
    for heading, value in zip(_HEADER, _cells(report.totals), strict=True):
        table.add_column(heading, justify="right", footer=value)
    for row in report.rows:
        table.add_row(row.key or "-", *_cells(row))
    console.print(table)
    note = unknown_note(report)
    if note:
        console.print(note, style="yellow", highlight=False)
    if daily is not None and daily.rows:
        console.print(spend_chart(daily))


def spend_chart(daily: UsageReport) -> Table:
    """A bar per UTC day of the period (days without requests included), scaled to the max."""
    from rich.bar import Bar
    from rich.table import Table

    from alltoken_agent.ledger import format_usd

    costs = {row.key: row.cost for row in daily.rows}
    first = date.fromisoformat(min(key for key in costs if key))
    if daily.since is not None:
        first = min(first, daily.since.astimezone(timezone.utc).date())
    last = max(date.fromisoformat(max(key for key in costs if key)), _today())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)][-MAX_CHART_DAYS:]
    peak = max(costs.values(), default=Decimal(0))
    chart = Table.grid(padding=(0, 1))
    chart.title = "Spend per day (UTC)"
    chart.title_justify = "left"
    chart.add_column()
    chart.add_column(width=BAR_WIDTH)
    chart.add_column(justify="right")
    for day in days:
        cost = costs.get(day.isoformat(), Decimal(0))
        size = float(peak) if peak > 0 else 1.0
        chart.add_row(
            day.isoformat(),
            Bar(size, 0, float(cost), width=BAR_WIDTH, color="cyan"),
            format_usd(cost),
        )
    return chart


def _today() -> date:
    return datetime.now(timezone.utc).date()

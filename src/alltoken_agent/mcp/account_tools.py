"""The ``list_models`` and ``usage`` tools: what the gateway offers, and what was spent."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from alltoken_agent import AllTokenAgentError, UserError
from alltoken_agent.catalog import Catalog
from alltoken_agent.gateway import ModelInfo
from alltoken_agent.ledger import ReportRow, UsageReport, format_usd, parse_since
from alltoken_agent.mcp.context import ToolDeps
from alltoken_agent.mcp.errors import error_result, unexpected_result

Modality = Literal["text", "vision", "image", "video", "audio"]
ReportBy = Literal["model", "day", "session"]

LIST_MODELS_DESCRIPTION = (
    "List the models the gateway serves (GET /models), optionally only one modality: "
    "text, vision (chat that reads images), image, video or audio."
)
USAGE_DESCRIPTION = (
    "Report the tokens and cost of the requests recorded in the local ledger (this server's "
    "and the CLI's), grouped by model, UTC day or session, with totals. Costs are USD decimal "
    "strings; requests whose cost is unknown are counted apart, never as zero."
)


class ModelEntry(BaseModel):
    """One model of ``list_models``."""

    id: str
    modality: str | None
    owned_by: str | None
    display_name: str | None


class ModelList(BaseModel):
    """What ``list_models`` returns as structured content."""

    provider: str = Field(description="The provider profile the server talks to.")
    default_model: str | None = Field(description="The model `chat` uses when given none.")
    models: list[ModelEntry]
    simulated: bool = Field(
        description="True when the offline simulator answered: these are its models, no gateway's."
    )


class UsageRowOut(BaseModel):
    """One group of the usage report."""

    key: str | None = Field(description="The model, UTC day or session; null where none.")
    requests: int
    prompt_tokens: int | None = Field(
        description="Over the requests whose usage is known; null when none is."
    )
    completion_tokens: int | None
    cost: str | None = Field(
        description="USD over the requests whose cost is known; null when none is known."
    )
    unknown_cost_requests: int
    unknown_usage_requests: int = 0


class UsageOut(BaseModel):
    """What ``usage`` returns as structured content."""

    by: ReportBy
    since: str | None
    until: str | None
    currency: str
    session: str | None
    rows: list[UsageRowOut]
    totals: UsageRowOut


ModalityArg = Annotated[
    Modality | None, Field(description="Only models of this modality; all when omitted.")
]
SinceArg = Annotated[
    str,
    Field(
        description="Start of the period: a span back from now (7d, 24h, 30m, 2w) or a UTC date."
    ),
]
ByArg = Annotated[ReportBy, Field(description="Group by model, day or session.")]
UsageSessionArg = Annotated[
    str | None, Field(description="Only requests made under this session name.")
]


def register_account_tools(server: MCPServer[Any], deps: ToolDeps) -> None:
    """Add ``list_models`` and ``usage`` to ``server``."""

    async def list_models(modality: ModalityArg = None) -> Annotated[CallToolResult, ModelList]:
        try:
            models = await Catalog(deps.gateway, use_cache=False).models(modality)
        except AllTokenAgentError as error:
            return error_result(error)
        except Exception as error:
            return unexpected_result("list_models", error, deps.gateway.redact)
        return _model_list(deps, models)

    async def usage(
        since: SinceArg = "7d", by: ByArg = "model", session: UsageSessionArg = None
    ) -> Annotated[CallToolResult, UsageOut]:
        try:
            start = parse_since(since)
        except UserError as error:
            return error_result(UserError(f"since: {error}"))
        try:
            report = await asyncio.to_thread(deps.ledger.report, start, by, session=session)
        except AllTokenAgentError as error:
            return error_result(error)
        except Exception as error:
            return unexpected_result("usage", error, deps.gateway.redact)
        return _usage(report, session)

    server.add_tool(
        list_models,
        name="list_models",
        title="List models",
        description=LIST_MODELS_DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True),
    )
    server.add_tool(
        usage,
        name="usage",
        title="Usage and cost",
        description=USAGE_DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )


def _model_list(deps: ToolDeps, models: list[ModelInfo]) -> CallToolResult:
    out = ModelList(
        provider=deps.gateway.provider.name,
        default_model=deps.gateway.model,
        models=[
            ModelEntry(
                id=m.id, modality=m.modality, owned_by=m.owned_by, display_name=m.display_name
            )
            for m in models
        ],
        simulated=deps.gateway.simulated,  # known: the list was just asked for, not cached
    )
    lines = [f"{m.id}\t{m.modality or '-'}" for m in models] or ["(no models)"]
    return CallToolResult(
        content=[TextContent(type="text", text="\n".join(lines))],
        structured_content=out.model_dump(mode="json"),
    )


def _usage(report: UsageReport, session: str | None) -> CallToolResult:
    document = report.to_dict()
    document["session"] = session
    # A group whose every request has an unknown cost has no cost, not a zero one
    # (as the CLI's `usage` shows it).
    lines = [*document["rows"], document["totals"]]
    for line, row in zip(lines, [*report.rows, report.totals], strict=True):
        line["cost"] = line["cost"] if row.cost_known else None
        if not row.usage_known:
            line["prompt_tokens"] = line["completion_tokens"] = None
    out = UsageOut.model_validate(document)
    totals = report.totals
    tokens = (
        f"{totals.prompt_tokens} prompt + {totals.completion_tokens} completion tokens"
        if totals.usage_known
        else "unknown tokens"
    )
    text = f"{totals.requests} requests, {tokens}, {_cost(totals)}"
    if totals.unknown_cost_requests:
        text += f" ({totals.unknown_cost_requests} with unknown cost, not in the total)"
    for row in report.rows:
        text += f"\n{row.key or '-'}: {row.requests} requests, {_cost(row)}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=out.model_dump(mode="json"),
    )


def _cost(row: ReportRow) -> str:
    """The row's cost for people: ``unknown`` when no request of it has a known cost."""
    return format_usd(row.cost) if row.cost_known else "unknown"

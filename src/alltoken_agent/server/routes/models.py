"""Models: the gateway's catalog with prices, for clients that let people pick a model."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from alltoken_agent.agent import DEFAULT_MODEL
from alltoken_agent.catalog import Catalog, ModelPrice
from alltoken_agent.gateway.catalog_types import CatalogEntry
from alltoken_agent.server.auth import Caller, current_caller
from alltoken_agent.server.console_schemas import ModelList, ModelOut, PriceOut
from alltoken_agent.server.context import ContextDep
from alltoken_agent.server.routes import responses

router = APIRouter(tags=["models"])

CallerDep = Annotated[Caller, Depends(current_caller)]
_MILLION_PER_THOUSAND = Decimal(1000)


class ModelsQuery(BaseModel):
    """Query parameters of the model list (unknown ones are refused)."""

    model_config = ConfigDict(extra="forbid")

    modality: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^[a-z]+$",
        description="Only this modality (`text`, `vision`, `image`, `video`).",
    )


@router.get(
    "/v1/models",
    response_model=ModelList,
    responses=responses(502, 503, 504),
    summary="List models with prices",
)
async def list_models(
    caller: CallerDep, context: ContextDep, query: Annotated[ModelsQuery, Query()]
) -> ModelList:
    """The gateway's public catalog: each model's modality, context and list price.

    Chat prices are per million tokens; a model the catalog does not price has
    `price: null` (its cost is unknown until the gateway reports one).
    """
    catalog = Catalog(context.gateway)
    entries = await catalog.entries()
    models = [
        _model_out(entry)
        for entry in entries
        if query.modality is None or entry.modality == query.modality
    ]
    models.sort(key=lambda model: model.id)
    return ModelList(
        default_model=context.gateway.model or DEFAULT_MODEL,
        models=models,
        simulated=catalog.simulated,
    )


def _model_out(entry: CatalogEntry) -> ModelOut:
    return ModelOut(
        id=entry.id,
        name=entry.name,
        modality=entry.modality,
        price=None if entry.price is None else _price_out(entry.price),
        context_length=entry.context_length,
        capabilities=sorted(entry.capabilities),
    )


def _price_out(price: ModelPrice) -> PriceOut:
    return PriceOut(
        input_per_1m=_per_million(price.input_per_1k),
        output_per_1m=_per_million(price.output_per_1k),
        per_image=_text(price.per_image),
        per_video_second=_text(price.per_video_second),
    )


def _per_million(per_thousand: Decimal | None) -> str | None:
    return None if per_thousand is None else _text(per_thousand * _MILLION_PER_THOUSAND)


def _text(amount: Decimal | None) -> str | None:
    if amount is None:
        return None
    # normalize() drops trailing zeros; "f" keeps 1E+1 from coming out in exponent form.
    return format(amount.normalize(), "f")

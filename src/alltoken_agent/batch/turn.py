"""One batch line: an agent turn, turned into the line's output object."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from alltoken_agent.agent import DEFAULT_INSTRUCTIONS, Agent, ModelSettings, resolve_tool_names
from alltoken_agent.catalog import PriceLookup
from alltoken_agent.config import Config
from alltoken_agent.errors import AllTokenAgentError, UserError
from alltoken_agent.gateway import Gateway, request_tags
from alltoken_agent.ledger import Budget

# Models often wrap JSON in a Markdown fence even when told not to.
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class LineOutcome:
    """What one line produced: its output object, its cost, whether it succeeded."""

    output: dict[str, Any]
    cost: Decimal | None
    """Known cost (gateway-reported), None when any request's cost is unknown."""
    ok: bool
    error: BaseException | None = None


def line_output(
    line: int,
    ident: str | int | None,
    *,
    text: str | None = None,
    output: Any = None,
    usage: dict[str, Any] | None = None,
    cost: Decimal | None = None,
    model: str | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The output object of one line; every key always present, unknowns as null."""
    return {
        "line": line,
        "id": ident,
        "model": model,
        "text": text,
        "output": output,
        "usage": usage,
        # A string, so no digit is lost; null when unknown, never 0.
        "cost": None if cost is None else str(cost),
        "error": error,
    }


def error_output(line: int, ident: str | int | None, error: dict[str, Any]) -> dict[str, Any]:
    """The output object of a line that did not produce an answer."""
    return line_output(line, ident, error=error)


def error_fields(error: BaseException) -> dict[str, Any]:
    """The ``error`` object of a line: our error's own ``to_dict()`` (already redacted).

    Anything else (a bug in a tool or hook) is named by its class.
    """
    if isinstance(error, AllTokenAgentError):
        return error.to_dict()
    name = type(error).__name__
    return {"code": name, "message": str(error), "type": name}


async def run_line(
    gateway: Gateway,
    line: int,
    request: dict[str, Any],
    *,
    config: Config | None = None,
    prices: PriceLookup | None = None,
    budgets: Sequence[Budget] = (),
    tags: dict[str, str] | None = None,
) -> LineOutcome:
    """Run the line's agent turn on ``gateway``; any failure becomes the line's error."""
    ident = request.get("id")
    model = request.get("model") or gateway.model
    if not model:
        fields = {"code": "no_model", "message": "no model: give the line a model, or --model"}
        return LineOutcome(error_output(line, ident, fields), None, ok=False)
    schema = request.get("schema")
    settings: ModelSettings = {}
    if schema is not None:
        settings["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": schema, "strict": False},
        }
    agent = Agent(
        model,
        instructions=request.get("instructions") or DEFAULT_INSTRUCTIONS,
        tools=resolve_tool_names(request.get("tools") or "default"),
        gateway=gateway,
        config=config,
        prices=prices,
        budgets=budgets,
        settings=settings,
    )
    try:
        with request_tags(**(tags or {})):
            result = await agent.run(request["prompt"])
    except AllTokenAgentError as error:
        return LineOutcome(
            error_output(line, ident, error_fields(error)), None, ok=False, error=error
        )
    finally:
        await agent.aclose()
    cost = None if result.cost is None else result.cost.amount
    usage = None if result.usage is None else result.usage.to_dict()
    structured: Any = None
    problem: dict[str, Any] | None = None
    if schema is not None:
        try:
            structured = _parse_json(result.text)
        except UserError as error:
            problem = {"code": "invalid_output", "message": str(error)}
    output = line_output(
        line,
        ident,
        text=result.text,
        output=structured,
        usage=usage,
        cost=cost,
        model=result.model,
        error=problem,
    )
    return LineOutcome(output, cost, ok=problem is None)


def _parse_json(text: str) -> Any:
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text.strip())
    except ValueError as error:
        raise UserError(f"the reply is not the JSON the schema asks for ({error})") from None
    if not isinstance(value, dict):
        raise UserError("the reply is JSON but not an object, as the schema asks")
    return value

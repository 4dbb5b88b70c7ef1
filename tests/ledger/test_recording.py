"""The ledger as a gateway observer, against the simulator over loopback."""

from __future__ import annotations

import json
import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent import AuthenticationError, RateLimitError, request_tags
from alltoken_agent.catalog import price_lookup
from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.ledger.helpers import simulator_prices

PROMPT = "Count the cost of this request to the last digit, please."


async def raw_cost_comment(sim: Any, model: str, text: str) -> dict[str, Any]:
    """The cost comment exactly as the simulator sends it, read with plain httpx."""
    body = {
        "model": model,
        "messages": user(text),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sim.base_url}/chat/completions", json=body, headers=headers)
    comments = [line[2:] for line in response.text.splitlines() if line.startswith(": ")]
    (comment,) = comments
    parsed: dict[str, Any] = json.loads(comment)
    return parsed


@pytest.mark.slow
async def test_streamed_cost_is_the_cost_comment_to_the_last_digit(
    sim: Any, ledger: Ledger, db_path: Path
) -> None:
    async with gateway_for(sim) as gateway:
        gateway.add_observer(ledger.observer)
        await gateway.stream(user(PROMPT), model="gpt-5.4-nano").collect()
    comment = await raw_cost_comment(sim, "gpt-5.4-nano", PROMPT)

    with Store(f"sqlite:///{db_path}") as reopened:  # read back through a fresh connection
        (row,) = Ledger(reopened).rows()
    assert row.cost_source == "gateway" and row.stream
    assert row.cost == Decimal(comment["cost"])
    assert format(row.cost, "f") == comment["cost"]  # every digit, trailing zeros too
    assert len(comment["cost"].split(".")[1]) == 10
    assert (row.prompt_tokens, row.completion_tokens) == (
        comment["prompt_tokens"],
        comment["completion_tokens"],
    )
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("SELECT cost FROM usage").fetchone() == (comment["cost"],)
    finally:
        raw.close()


async def test_a_reply_without_cost_comment_is_estimated_from_catalog_prices(
    sim: Any, ledger: Ledger
) -> None:
    async with gateway_for(sim) as gateway:
        catalog = await simulator_prices(gateway, sim)
        ledger.prices = price_lookup(catalog, {})
        gateway.add_observer(ledger.observer)
        result = await gateway.chat(user(PROMPT), model="gpt-5.4-nano")
    (row,) = ledger.rows()
    assert result.usage is not None and row.cost_source == "estimated"
    price = catalog["gpt-5.4-nano"]
    assert (price.input_per_1k, price.output_per_1k) == (Decimal("0.0002"), Decimal("0.00125"))
    wire = sim.state.requests[-1]  # the simulator answered this request
    assert wire.status == 200
    expected = (
        result.usage.prompt_tokens * Decimal("0.0002")
        + result.usage.completion_tokens * Decimal("0.00125")
    ) / 1000
    assert row.cost == expected and row.cost > 0
    assert row.request_id == wire.request_id


async def test_a_model_without_a_price_has_an_unknown_null_cost(
    sim: Any, ledger: Ledger, db_path: Path
) -> None:
    async with gateway_for(sim) as gateway:
        catalog = await simulator_prices(gateway, sim)
        del catalog["minimax-m2.7"]
        ledger.prices = price_lookup(catalog, {})
        gateway.add_observer(ledger.observer)
        await gateway.chat(user("hi"), model="minimax-m2.7")
    (row,) = ledger.rows()
    assert (row.cost, row.cost_source) == (None, "unknown")
    assert row.prompt_tokens is not None and row.prompt_tokens > 0
    spend = ledger.spent()
    assert (spend.total, spend.known_requests, spend.unknown_requests) == (Decimal(0), 0, 1)
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("SELECT cost IS NULL, cost_source FROM usage").fetchone() == (
            1,
            "unknown",
        )
    finally:
        raw.close()


async def test_failed_requests_are_recorded_with_their_outcome_and_no_cost(
    sim: Any, ledger: Ledger
) -> None:
    sim.state.enqueue_faults(["401", "429:0", "429:0", "429:0"])
    async with gateway_for(sim) as gateway:
        ledger.prices = price_lookup(await simulator_prices(gateway, sim), {})
        gateway.add_observer(ledger.observer)
        with pytest.raises(AuthenticationError):
            await gateway.chat(user("hi"))
        with pytest.raises(RateLimitError):
            await gateway.stream(user("hi")).collect()
    refused, limited = ledger.rows()
    assert (refused.outcome, refused.status, refused.attempts) == ("invalid_api_key", 401, 1)
    assert (limited.outcome, limited.status, limited.attempts) == ("rate_limit_exceeded", 429, 3)
    for row in (refused, limited):
        assert (row.cost, row.cost_source, row.prompt_tokens) == (None, "unknown", None)
    assert refused.request_id == sim.state.requests[0].request_id
    assert ledger.spent().unknown_requests == 2


async def test_session_and_owner_tags_scope_the_spend(sim: Any, ledger: Ledger) -> None:
    async with gateway_for(sim) as gateway:
        gateway.add_observer(ledger.observer)
        with request_tags(session="alpha"):
            await gateway.stream(user("one"), model="gpt-5.4-nano").collect()
            await gateway.stream(user("two"), model="gpt-5.4-nano").collect()
        with request_tags(session="beta"):
            await gateway.stream(user("three"), model="gpt-5.4-nano").collect()
        with request_tags(session="alpha", owner="key_1"):
            await gateway.stream(user("four"), model="gpt-5.4-nano").collect()
    local = ledger.rows()
    assert [row.session for row in local] == ["alpha", "alpha", "beta"]
    alpha = ledger.spent(session="alpha")
    assert alpha.known_requests == 2
    assert alpha.total == sum((row.cost or Decimal(0) for row in local[:2]), Decimal(0))
    assert ledger.spent(session="beta").total == local[2].cost
    owned = ledger.spent(owner="key_1")
    assert owned.known_requests == 1 and ledger.rows(owner="key_1")[0].owner == "key_1"
    assert ledger.spent().known_requests == 3  # owner=None is local use only


async def test_a_failing_ledger_never_breaks_the_request(
    sim: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger(store)
    store.close()
    async with gateway_for(sim) as gateway:
        gateway.add_observer(ledger.observer)
        with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
            result = await gateway.chat(user("hi"))
    assert result.text
    assert "could not record the usage" in caplog.text and "closed" in caplog.text

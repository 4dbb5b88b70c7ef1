"""DeferredLedger: the store opens and prices are looked up after the first request ends.

Against the simulator over loopback: what ``chat`` records must be what an eager ledger
would have recorded (priced, never unknown because the lookup came later), while the
request itself goes out before any of it.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Config, ConfigError
from alltoken_agent.config import PriceSettings
from alltoken_agent.ledger import DeferredLedger, Ledger
from alltoken_agent.store import Store
from tests.gateway.helpers import gateway_for, user
from tests.ledger.helpers import make_record, simulator_prices


def rows(db_path: Path) -> list[Any]:
    with Store(f"sqlite:///{db_path}") as store:
        return Ledger(store).rows()


def opener(db_path: Path, opened: list[Store]) -> Any:
    def open_store() -> Store:
        store = Store(f"sqlite:///{db_path}")
        opened.append(store)
        return store

    return open_store


@pytest.mark.slow
async def test_a_request_sent_before_the_lookup_is_still_priced_from_the_catalog(
    sim: Any, db_path: Path
) -> None:
    opened: list[Store] = []
    known: list[tuple[Any, Any]] = []
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config(), open_store=opener(db_path, opened))
        # What was known when the request ended: nothing looked up, no store opened.
        gateway.add_observer(lambda _: known.append((deferred.prices, deferred.store)))
        gateway.add_observer(deferred.observer)
        result = await gateway.chat(user("What does this cost?"), model="gpt-5.4-nano")
        await deferred.aclose()
        catalog = await simulator_prices(gateway, sim)
    assert known == [(None, None)]
    (row,) = rows(db_path)
    assert result.usage is not None and result.cost is None  # a non-streamed reply: no cost
    price = catalog["gpt-5.4-nano"]
    assert price.input_per_1k is not None and price.output_per_1k is not None
    expected = (
        result.usage.prompt_tokens * price.input_per_1k
        + result.usage.completion_tokens * price.output_per_1k
    ) / 1000
    assert (row.cost, row.cost_source) == (expected, "estimated") and row.cost > 0
    assert len(opened) == 1 and opened[0].closed  # its own store, closed by aclose


@pytest.mark.slow
async def test_without_a_catalog_the_config_prices_price_it_and_else_it_stays_unknown(
    th_sim: Any, db_path: Path
) -> None:
    # TokenHub has no public catalog: only the config's [prices] can price a request.
    override = Config(
        prices={"deepseek-v3.2": PriceSettings(input_per_1k="0.001", output_per_1k="0.002")}
    )
    for config in (override, Config()):
        async with gateway_for(th_sim, dialect="tokenhub") as gateway:
            deferred = DeferredLedger(gateway, config, open_store=opener(db_path, []))
            gateway.add_observer(deferred.observer)
            await gateway.chat(user("hi"), model="deepseek-v3.2")
            await deferred.aclose()
    priced, unpriced = rows(db_path)
    assert priced.cost_source == "estimated" and priced.cost is not None and priced.cost > 0
    assert (unpriced.cost, unpriced.cost_source) == (None, "unknown")  # None, never 0


async def test_an_interrupted_run_records_at_once_unpriced_and_stops_the_lookup(
    sim: Any, db_path: Path
) -> None:
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config(), open_store=opener(db_path, []))
        deferred.observer(make_record(cost=None))  # the request ended; the lookup starts
        lookup = deferred._lookup
        assert lookup is not None and not lookup.done()
        deferred.interrupt()  # Ctrl-C / SIGTERM
        (row,) = rows(db_path)  # written now, not after a catalog round trip
        assert (row.cost, row.cost_source) == (None, "unknown")
        assert row.prompt_tokens == 10
        deferred.observer(make_record(cost=None, model="late"))  # e.g. the cancelled row
        await deferred.aclose()
        await asyncio.sleep(0)
        assert lookup.cancelled() and deferred.prices is None
    assert [row.model for row in rows(db_path)] == ["gpt-5.4-nano", "late"]


async def test_a_budget_gets_the_ledger_before_any_request_and_rows_are_written_as_they_end(
    sim: Any, db_path: Path
) -> None:
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config(), open_store=opener(db_path, []))
        gateway.add_observer(deferred.observer)
        ledger = await deferred.ledger()  # priced and open before the request
        assert deferred.prices is not None and ledger.prices is deferred.prices
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
        (row,) = ledger.rows()  # already written: no waiting for aclose
        assert row.cost_source == "estimated"
        await deferred.aclose()


async def test_a_store_that_cannot_open_fails_no_paid_request(
    sim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Store:
        raise ConfigError("cannot open the database: disk full")

    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config(), open_store=broken)
        gateway.add_observer(deferred.observer)
        with caplog.at_level(logging.WARNING, logger="alltoken_agent"):
            result = await gateway.chat(user("hi"), model="gpt-5.4-nano")
            await deferred.aclose()
    assert result.text
    assert "could not record the usage of 1 request(s): cannot open the database" in caplog.text


async def test_a_cost_the_gateway_reported_is_recorded_without_a_price_lookup(
    sim: Any, db_path: Path
) -> None:
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config(), open_store=opener(db_path, []))
        gateway.add_observer(deferred.observer)
        async with gateway.stream(user("hi"), model="gpt-5.4-nano") as stream:
            async for _ in stream:
                pass
        assert stream.result.cost is not None  # AllToken's cost comment
        assert deferred.prices is None and deferred._lookup is None
        (first,) = rows(db_path)  # written at once: nothing to wait for
        # A request whose cost must be estimated (non-streamed: no cost comment) is the
        # first to need prices: looked up now, and that row is priced from them.
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
        await deferred.aclose()
        assert deferred.prices is not None
    paths = [r.path for r in sim.state.requests]
    assert paths[0].endswith("/chat/completions") and paths[1].endswith("/chat/completions")
    assert (first.cost, first.cost_source) == (stream.result.cost.amount, "gateway")
    second = rows(db_path)[1]
    assert second.cost_source == "estimated" and second.cost is not None and second.cost > 0


async def test_preparing_while_the_reply_streams_changes_nothing_recorded(
    sim: Any, db_path: Path
) -> None:
    async with gateway_for(sim) as gateway:
        deferred = DeferredLedger(gateway, Config(), open_store=opener(db_path, []))
        gateway.add_observer(deferred.observer)
        async with gateway.stream(user("hi"), model="gpt-5.4-nano") as stream:
            deferred.prepare()  # as chat does on stream:start
            deferred.prepare()  # once is enough: a second call starts nothing
            async for _ in stream:
                pass
        await deferred.aclose()
    (row,) = rows(db_path)
    assert stream.result.cost is not None
    assert (row.cost, row.cost_source) == (stream.result.cost.amount, "gateway")

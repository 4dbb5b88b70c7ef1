"""Offline runs go to a book of their own: their made-up costs never count as real spend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent import (
    Agent,
    BudgetExceededError,
    Gateway,
    PaymentRequiredError,
    request_tags,
)
from alltoken_agent.config import BudgetSettings
from alltoken_agent.gateway._offline import SIMULATOR_HEADER, SIMULATOR_NAME, from_simulator
from alltoken_agent.gateway.types import ModelPrice
from alltoken_agent.ledger import Budgets, Ledger, RunningBudget, write_usage_report
from alltoken_agent.media import Media, PollPolicy
from alltoken_agent.simulator import SimulatorServer
from alltoken_agent.store import MIGRATIONS, Store
from alltoken_agent.store.engine import Database
from alltoken_agent.store.migrations import applied_migrations, migrate
from alltoken_agent.store.usage import usage
from tests.cli.helpers import run_cli, write_config
from tests.conftest import start_simulator
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.ledger.helpers import gateway_cost, make_record

FAST = PollPolicy(initial=0.01, interval=0.05, jitter=0.0, deadline=10.0)


@pytest.fixture(scope="module")
def simulator_process() -> Iterator[str]:
    """`alltoken-agent simulator` as a user starts it, in its own process; its base URL."""
    with start_simulator() as command:
        yield command.url


def test_m005_adds_the_flag_to_an_older_store_whose_rows_stay_real(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    index = next(i for i, (name, _) in enumerate(MIGRATIONS) if name == "m005_usage_simulated")
    db = Database(url)
    try:
        migrate(db, MIGRATIONS[:index])  # a store as the release before m005 left it
        with db.write() as conn:
            conn.execute(
                usage.insert().values(
                    created_at=datetime.now(timezone.utc),
                    kind="chat",
                    provider="alltoken",
                    model="gpt-5.4-nano",
                    stream=True,
                    outcome="ok",
                    cost=Decimal("0.25"),
                    cost_source="gateway",
                    currency="USD",
                    attempts=1,
                    extra={},
                )
            )
    finally:
        db.close()
    with Store(url) as store:
        assert "m005_usage_simulated" in store.applied_migrations()
        (row,) = Ledger(store).rows()
        assert row.simulated is False and row.cost == Decimal("0.25")
        assert Ledger(store, simulated=True).rows() == []
    db = Database(url)
    try:
        assert migrate(db, MIGRATIONS) == []  # applied once, recorded
        assert "m005_usage_simulated" in applied_migrations(db)
    finally:
        db.close()


@pytest.mark.slow
async def test_an_offline_gateway_writes_to_the_simulated_book_only(store: Store) -> None:
    real, offline = Ledger(store), Ledger(store, simulated=True)
    real.record(make_record(started_at=datetime.now(timezone.utc), cost=gateway_cost("0.70")))
    async with Gateway.offline() as gateway:
        assert gateway.simulated
        gateway.add_observer(offline.observer)
        with request_tags(session="try"):
            result = await gateway.stream(user("hi"), model="gpt-5.4-nano").collect()
    assert result.cost is not None and result.cost.amount > 0

    (row,) = offline.rows()
    assert row.simulated and row.session == "try" and row.cost == result.cost.amount
    assert offline.spent().total == result.cost.amount
    assert real.spent().total == Decimal("0.70") and real.spent().requests == 1
    assert [r.simulated for r in real.rows()] == [False]
    assert real.report(None, "model").simulated is False
    assert offline.report(None, "model").to_dict()["simulated"] is True

    # A real daily budget sees only real spend: the offline request took nothing from it.
    (daily,) = Budgets.from_config(BudgetSettings(daily_usd=Decimal("1.00")), real)
    assert daily.check(Decimal("0.10")).spent == Decimal("0.70")


async def test_a_gateway_of_a_real_provider_writes_to_the_real_book(store: Store, sim: Any) -> None:
    real = Ledger(store)
    async with gateway_for(sim) as gateway:
        assert not gateway.simulated
        gateway.add_observer(real.observer)
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
    (row,) = real.rows()
    assert not row.simulated
    assert Ledger(store, simulated=True).rows() == []


def test_the_usage_file_says_when_a_request_was_simulated(tmp_path: Path) -> None:
    target = tmp_path / "usage.json"
    write_usage_report(target, [make_record(simulated=True)], status="ok")
    document = json.loads(target.read_text())
    assert document["simulated"] is True and document["requests"][0]["simulated"] is True
    write_usage_report(target, [make_record()], status="ok")
    assert json.loads(target.read_text())["simulated"] is False


# -- a simulator reached by base URL (not Gateway.offline()) ---------------------------------


@pytest.fixture(scope="module")
def labelled_sim() -> Iterator[Any]:
    """A simulator as `alltoken-agent simulator` serves it: every reply labelled."""
    with SimulatorServer("alltoken") as server:
        yield server


@pytest.fixture
def standalone(labelled_sim: Any) -> Any:
    labelled_sim.state.reset()
    return labelled_sim


async def test_a_simulator_reached_by_base_url_is_booked_as_simulated(
    store: Store, standalone: Any
) -> None:
    real, offline = Ledger(store), Ledger(store, simulated=True)
    async with gateway_for(standalone) as gateway:
        assert not gateway.simulated  # nothing has answered yet
        gateway.add_observer(real.observer)
        result = await gateway.stream(user("hi"), model="gpt-5.4-nano").collect()
        assert gateway.simulated  # the reply said who answered
        await gateway.chat(user("again"), model="gpt-5.4-nano")
    assert result.cost is not None and result.cost.amount > 0
    assert real.rows() == [] and real.spent().total == Decimal(0)
    rows = offline.rows()
    assert [row.simulated for row in rows] == [True, True]
    assert offline.spent().total >= result.cost.amount


async def test_a_failed_request_to_the_simulator_is_booked_as_simulated(
    store: Store, standalone: Any
) -> None:
    standalone.state.enqueue_faults(["402"])
    real = Ledger(store)
    async with gateway_for(standalone) as gateway:
        gateway.add_observer(real.observer)
        with pytest.raises(PaymentRequiredError):
            await gateway.chat(user("hi"), model="gpt-5.4-nano")
    assert real.rows() == []
    (row,) = Ledger(store, simulated=True).rows()
    assert row.outcome == "insufficient_balance" and row.simulated


@pytest.mark.slow
async def test_media_jobs_on_a_simulator_reached_by_base_url_are_booked_as_simulated(
    store: Store, standalone: Any, tmp_path: Path
) -> None:
    standalone.state.media.image_seconds = 0.05
    standalone.state.media.video_seconds = 0.1
    real = Ledger(store)
    async with gateway_for(standalone) as gateway:
        gateway.add_observer(real.observer)
        media = Media(gateway, store)
        await media.images.generate("a fox", save_to=tmp_path, poll=FAST)
        await media.videos.generate("a fox", duration=4, save_to=tmp_path, poll=FAST)
    assert real.rows() == []
    kinds = [(row.kind, row.simulated) for row in Ledger(store, simulated=True).rows()]
    assert kinds == [("image", True), ("video", True)]


def test_the_label_is_believed_only_from_this_machine() -> None:
    """A remote gateway sending the label must not move real spend out of the real book.

    No simulator binds a public address, so these replies are built by hand.
    """
    labelled = {SIMULATOR_HEADER: SIMULATOR_NAME}
    for url, believed in [
        ("http://127.0.0.1:8765/v1/chat/completions", True),
        ("http://localhost:8765/v1/models", True),
        ("http://[::1]:8765/v1/models", True),
        ("https://api.alltoken.ai/v1/chat/completions", False),
        ("http://10.0.0.5:8765/v1/models", False),
    ]:
        reply = httpx.Response(200, headers=labelled, request=httpx.Request("GET", url))
        assert from_simulator(reply) is believed, url
    local = httpx.Request("GET", "http://127.0.0.1:1/v1/models")
    assert not from_simulator(httpx.Response(200, request=local))
    other = {SIMULATOR_HEADER: "something-else"}
    assert not from_simulator(httpx.Response(200, headers=other, request=local))


@pytest.mark.slow
def test_cli_chat_through_base_url_to_the_simulator_command_keeps_the_real_book_empty(
    simulator_process: str,
) -> None:
    result = run_cli("chat", "--base-url", simulator_process, "-m", "gpt-5.4-nano", "hi",
                     env={"ALLTOKEN_API_KEY": TEST_KEY})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    real = json.loads(run_cli("usage", "--json").stdout)
    assert real["simulated"] is False and real["totals"]["requests"] == 0
    simulated = json.loads(run_cli("usage", "--simulated", "--json").stdout)
    assert simulated["simulated"] is True and simulated["totals"]["requests"] >= 1


# -- budgets count their own book, and say which ----------------------------------------------


def _today(**fields: Any) -> Any:
    return make_record(started_at=datetime.now(timezone.utc), **fields)


def test_a_budget_over_simulated_spend_says_so_and_a_real_one_says_real(store: Store) -> None:
    Ledger(store).record(_today(cost=gateway_cost("0.70")))
    Ledger(store, simulated=True).record(_today(cost=gateway_cost("0.90"), simulated=True))
    settings = BudgetSettings(daily_usd=Decimal("1.00"))
    (real,) = Budgets.from_config(settings, Ledger(store))
    (offline,) = Budgets.from_config(settings, Ledger(store, simulated=True))

    with pytest.raises(BudgetExceededError) as caught:
        offline.check(Decimal("0.20"))
    message = str(caught.value)
    assert message.startswith("daily budget (simulated spend) of $1.00 would be exceeded")
    assert "$0.90 spent so far (simulated spend: the simulator's made-up costs" in message
    status = offline.status()
    assert status.simulated and status.label == "daily budget (simulated spend)" and status.warn
    assert status.to_dict()["simulated"] is True

    with pytest.raises(BudgetExceededError, match=r"\$0.70 spent so far \(real spend\)"):
        real.check(Decimal("0.40"))
    assert real.check(Decimal("0.10")).simulated is False  # the 0.90 simulated is not counted


@pytest.mark.slow
async def test_a_daily_budget_following_the_gateway_counts_the_book_its_replies_name(
    store: Store, standalone: Any
) -> None:
    Ledger(store).record(_today(cost=gateway_cost("0.95")))  # real spend near the limit
    ledger = Ledger(store)
    async with gateway_for(standalone) as gateway:
        gateway.add_observer(ledger.observer)
        (daily,) = Budgets.from_config(
            BudgetSettings(daily_usd=Decimal("1.00")), ledger, book=lambda: gateway.simulated
        )
        assert daily.status().spent == Decimal("0.95") and not daily.simulated
        await gateway.chat(user("hi"), model="gpt-5.4-nano")
        status = daily.check(Decimal("0.01"))  # real spend no longer counts
    assert status.simulated and status.spent == Ledger(store, simulated=True).spent().total


def test_a_running_budget_of_simulated_records_says_simulated_spend() -> None:
    budget = RunningBudget(Decimal("0.10"))
    budget.add_record(make_record(cost=gateway_cost("0.20"), simulated=True))
    with pytest.raises(BudgetExceededError, match=r"agent budget \(simulated spend\) of \$0.10"):
        budget.check()


async def test_an_offline_agents_budget_says_simulated_spend_before_any_reply() -> None:
    # Before the first reply no record says which book it is: the gateway does.
    async with Gateway.offline() as gateway:
        price = ModelPrice("m", input_per_1k=Decimal("0.001"), output_per_1k=Decimal("0.002"))
        agent = Agent(gateway=gateway, tools=[], budget_usd="0.0000001", prices=lambda m: price)
        with pytest.raises(BudgetExceededError) as raised:
            await agent.send("hi")
    message = str(raised.value)
    assert message.startswith("agent budget (simulated spend) of $0.0000001 would be exceeded")
    assert "$0.00 spent so far (simulated spend: the simulator's made-up costs" in message
    assert "real spend" not in message


async def test_a_running_budget_takes_the_book_of_the_gateway_it_counts(sim: Any) -> None:
    async with Gateway.offline() as offline, gateway_for(sim) as real:
        on_offline, on_real = RunningBudget(Decimal("0.10")), RunningBudget(Decimal("0.10"))
        on_offline.count_on(offline)
        on_offline.count_on(offline)  # an agent does so every turn: still one observer
        on_real.count_on(real)
        status = on_offline.status()
        assert status.simulated and status.label == "agent budget (simulated spend)"
        assert not on_real.status().simulated  # no reply yet says otherwise: real spend
        result = await offline.stream(user("hi"), model="gpt-5.4-nano").collect()
    assert result.cost is not None and result.cost.amount > 0
    assert on_offline.total == result.cost.amount  # counted once, not once per count_on
    # A simulated record settles it, whatever the gateway said before.
    on_real.add_record(make_record(cost=gateway_cost("0.01"), simulated=True))
    assert on_real.status().simulated


def test_cli_offline_chat_over_its_own_budget_says_simulated_spend(
    isolated_environment: Path,
) -> None:
    done = run_cli("chat", "--offline", "--budget", "0.0000001", "hi")
    assert done.exit_code == 7
    assert "agent budget (simulated spend) of $0.0000001" in done.stderr
    assert "real spend" not in done.stderr


@pytest.mark.slow
def test_cli_simulated_spend_blocks_offline_runs_only_and_says_so(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, '[budget]\ndaily_usd = "1.00"\n')
    with Store() as store:
        Ledger(store, simulated=True).record(_today(cost=gateway_cost("5.00"), simulated=True))
        Ledger(store).record(_today(cost=gateway_cost("0.85")))
    offline = run_cli("chat", "--offline", "hi")
    assert offline.exit_code == 7
    assert "daily budget (simulated spend) of $1.00" in offline.stderr
    assert "$5.00 spent so far (simulated spend" in offline.stderr
    real = run_cli("chat", "--base-url", sim.base_url, "-m", "gpt-5.4-nano", "hi",
                   env={"ALLTOKEN_API_KEY": TEST_KEY})  # fmt: skip
    assert real.exit_code == 0, real.stderr  # $5.00 of simulated spend does not block it
    assert "alltoken-agent: daily budget 85% used ($0.85 of $1.00)" in real.stderr


@pytest.mark.slow
def test_cli_chat_through_a_provider_profile_naming_the_simulator_is_simulated(
    simulator_process: str, isolated_environment: Path, tmp_path: Path
) -> None:
    write_config(
        isolated_environment,
        f'[providers.local]\nbase_url = "{simulator_process}"\napi_key_env = "LOCAL_KEY"\n'
        'default_model = "gpt-5.4-nano"\n',
    )
    usage_file = tmp_path / "usage.json"
    result = run_cli("chat", "--provider", "local", "--usage-file", str(usage_file), "hi",
                     env={"LOCAL_KEY": TEST_KEY})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(usage_file.read_text())["simulated"] is True
    assert json.loads(run_cli("usage", "--json").stdout)["totals"]["requests"] == 0
    simulated = json.loads(run_cli("usage", "--simulated", "--json").stdout)
    assert simulated["totals"]["requests"] >= 1

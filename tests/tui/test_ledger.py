"""The TUI and the ledger: requests are recorded per session, totals read back, budgets kept."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Config
from alltoken_agent.catalog import Catalog
from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store
from alltoken_agent.tui import ChatApp
from alltoken_agent.tui.widgets import StatusBar
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY
from tests.tui.conftest import SESSION
from tests.tui.helpers import send, transcript

SIZE = (100, 30)


def chat_requests(sim: Any) -> int:
    return sum(1 for r in sim.state.requests if r.path.endswith("/chat/completions"))


async def with_ledger(build: Any, store: Store, **kwargs: Any) -> tuple[ChatApp, Ledger]:
    """The app as the CLI builds it: a ledger observing its gateway, catalog prices."""
    ledger = Ledger(store)
    app = build(ledger=ledger, **kwargs)
    app.gateway.add_observer(ledger.observer)
    ledger.prices = await Catalog(app.gateway).prices()
    return app, ledger


@pytest.mark.slow
async def test_a_turn_and_an_image_are_recorded_under_the_session_and_counted(
    build: Any, store: Store
) -> None:
    app, ledger = await with_ledger(build, store)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
        after_chat = app.conversation.totals.cost
        await send(pilot, "/image a red square")
        assert "media: image job: done." in transcript(app)
        status = app.query_one(StatusBar)
        shown = status.totals
    rows = ledger.rows(session=SESSION)
    assert sorted(row.kind for row in rows) == ["chat", "image"]
    total = ledger.report(session=SESSION).totals
    totals = app.conversation.totals
    chat = next(row for row in rows if row.kind == "chat")
    assert totals.tokens == (chat.prompt_tokens or 0) + (chat.completion_tokens or 0)
    assert totals.images == 1 and "1 image" in shown
    assert totals.cost == total.cost
    # The image's cost is in the status bar, not only the chat turn's.
    assert after_chat is not None and totals.cost is not None and totals.cost > after_chat
    assert shown == totals.describe()


@pytest.mark.slow
async def test_media_billing_units_are_not_counted_as_chat_tokens(build: Any, store: Store) -> None:
    app, ledger = await with_ledger(build, store)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
        chat_tokens = app.conversation.totals.tokens
        assert chat_tokens > 0
        await send(pilot, "/video a paper boat")
        await send(pilot, "/image a red square")
        shown = app.query_one(StatusBar).totals
    video = next(row for row in ledger.rows(session=SESSION) if row.kind == "video")
    assert (video.completion_tokens or 0) > 0  # the gateway bills the video in tokens
    totals = app.conversation.totals
    assert totals.tokens == chat_tokens
    assert shown.startswith(f"{chat_tokens:,} tokens · 1 image · 5 s video · $")


@pytest.mark.slow
async def test_resuming_a_session_shows_what_it_used_in_earlier_runs(
    build: Any, store: Store
) -> None:
    first, ledger = await with_ledger(build, store)
    async with first.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")
    used = ledger.report(session=SESSION).totals
    assert used.requests == 1 and used.completion_tokens > 0

    again, _ = await with_ledger(build, store, session=SESSION)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(50):
            if again.conversation.totals.tokens:
                break
            await pilot.pause(0.02)
        totals = again.conversation.totals
        assert totals.tokens == used.prompt_tokens + used.completion_tokens
        assert totals.cost == used.cost
        assert again.query_one(StatusBar).totals == totals.describe()


@pytest.mark.slow
async def test_the_config_daily_budget_stops_a_turn_before_its_request(
    build: Any, store: Store, sim: Any
) -> None:
    config = Config.model_validate({"budget": {"daily_usd": "0.00001"}})
    app, ledger = await with_ledger(build, store, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Hello")  # nothing spent yet: this one goes through
        spent = ledger.today_spent().total
        assert spent > Decimal("0.00001")
        sent = chat_requests(sim)
        await send(pilot, "And again")
        assert chat_requests(sim) == sent  # refused before anything went out
        assert "budget" in transcript(app).splitlines()[-1].lower()
        assert app.is_running


@pytest.mark.slow
def test_the_tui_command_records_its_requests_in_the_local_ledger(
    sim: Any, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tui` end to end, except that the app runs headless and sends one message.

    ``run_async`` is swapped for Textual's headless test driver because CliRunner has
    no terminal to draw on; the gateway, ledger and store are the CLI's own.
    """
    names: list[str | None] = []

    async def run_headless(app: ChatApp) -> None:
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, "Hello")
            names.append(app.conversation.keeper.name)

    monkeypatch.setattr(ChatApp, "run_async", run_headless)
    result = run_cli("tui", "--base-url", sim.base_url, env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert result.exit_code == 0, result.stderr
    assert names[0] is not None
    report = run_cli("usage", "--by", "session", "--json")
    assert report.exit_code == 0, report.stderr
    assert names[0] in report.stdout
    assert TEST_KEY not in report.stdout

"""The status bar names the gateway the requests really reach."""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import Gateway
from alltoken_agent.gateway import get_provider
from alltoken_agent.tui import ChatApp
from alltoken_agent.tui.provider_label import provider_label
from alltoken_agent.tui.widgets import StatusBar
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY
from tests.tui.helpers import settle, transcript

pytestmark = pytest.mark.slow  # many servers or processes: the full suite (CI) runs it

SIZE = (100, 30)


def headless(monkeypatch: pytest.MonkeyPatch, seen: list[tuple[str, str]]) -> None:
    """Run the CLI's app with Textual's headless driver (CliRunner has no terminal)."""

    async def run_headless(app: ChatApp) -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            seen.append((app.query_one(StatusBar).provider, transcript(app)))

    monkeypatch.setattr(ChatApp, "run_async", run_headless)


def test_with_base_url_the_status_bar_names_the_address(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    headless(monkeypatch, seen)
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("tui", "--base-url", sim.base_url, env=env)
    assert result.exit_code == 0, result.stderr
    address = sim.base_url.split("://", 1)[1].removesuffix("/v1")
    provider, shown = seen[0]
    assert provider == f"alltoken @ {address}"
    assert f"on alltoken @ {address}." in shown


def test_offline_the_status_bar_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    headless(monkeypatch, seen)
    result = run_cli("tui", "--offline")
    assert result.exit_code == 0, result.stderr
    assert seen[0][0] == "alltoken (offline)"


async def test_a_provider_on_its_own_base_url_is_named_alone() -> None:
    tokenhub = get_provider("tokenhub")
    gateway = Gateway(tokenhub, api_key=TEST_KEY)  # no request is made
    try:
        assert provider_label(gateway) == "tokenhub"
    finally:
        await gateway.aclose()
    assert tokenhub.base_url is not None
    elsewhere = Gateway(tokenhub, api_key=TEST_KEY, base_url="https://u:p@proxy.example/tk/v1")
    try:
        assert provider_label(elsewhere) == "tokenhub @ proxy.example/tk/v1"
    finally:
        await elsewhere.aclose()

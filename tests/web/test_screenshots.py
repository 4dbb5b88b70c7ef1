"""Chat, gallery and spend at desktop and phone width: nothing overflows sideways.

With ``ALLTOKEN_AGENT_UPDATE_SCREENSHOTS=1`` the screenshots are written to
``docs/screenshots/`` (the README shows them); otherwise to the test's own folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.conftest import DESKTOP, PHONE, OpenPage, ServerThread, images_loaded

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _prepare(server: ServerThread) -> None:
    with server.client(None) as client:
        session = client.post("/v1/sessions", json={"thinking": True}).json()
        client.patch(f"/v1/sessions/{session['id']}", json={"name": "Tokyo time"})
        message = "What time is it in Tokyo? Answer in **one** line."
        client.post(f"/v1/sessions/{session['id']}/messages", json={"content": message})
        other = client.post("/v1/sessions", json={"model": "deepseek-v4-flash"}).json()
        client.patch(f"/v1/sessions/{other['id']}", json={"name": "Sum of squares"})
        client.post(f"/v1/sessions/{other['id']}/messages", json={"content": "What is 3*3+4*4?"})
        for prompt in ("a red fox in the snow", "a lighthouse at dusk"):
            client.post("/v1/images", json={"prompt": prompt})


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_pages_fit_the_width_and_are_captured(
    name: str,
    viewport: dict[str, int],
    offline_server: ServerThread,
    open_page: OpenPage,
    tmp_path: Path,
) -> None:
    _prepare(offline_server)
    folder = DOCS if os.environ.get("ALLTOKEN_AGENT_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    visit = open_page(offline_server, viewport)
    page = visit.page
    visit.goto()
    page.locator("#convo-list li", has_text="Tokyo time").locator("button.open").click()
    page.locator(".tool", has_text="get_current_time").wait_for()
    page.locator(".msg.assistant details.reasoning").first.wait_for(state="attached")
    # The costs come from the ledger after the transcript: the shot waits for them.
    turn_cost = page.locator(".turn-cost").first
    turn_cost.wait_for()
    assert turn_cost.inner_text().endswith("(simulated)")
    total = page.locator("#session-total", has_text="(simulated)")
    total.wait_for()
    assert "unknown" not in total.inner_text()
    shots = {"chat": None, "gallery": "Media", "spend": "Spend"}
    for shot, link in shots.items():
        if link:
            page.get_by_role("link", name=link).click()
        if shot == "gallery":
            page.locator("#gallery img").nth(1).wait_for()
            images_loaded(page)
            page.get_by_role("heading", name="Gallery").scroll_into_view_if_needed()
            page.evaluate(
                "scrollBy(0, document.querySelector('#gallery').getBoundingClientRect().top - 60)"
            )
        if shot == "spend":
            page.locator("[data-book='simulated'] .chart rect").first.wait_for()
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{shot} overflows the {name} width by {overflow} px"
        path = folder / f"{shot}-{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size < 400_000

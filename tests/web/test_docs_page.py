"""/docs in a real headless Chromium with every other host cut off."""

from __future__ import annotations

import pytest

from tests.web.conftest import OpenPage, ServerThread

pytestmark = pytest.mark.slow


def test_the_api_docs_render_with_no_network(
    keyed_server: ServerThread, open_page: OpenPage
) -> None:
    visit = open_page(keyed_server)  # the fixture fails the test on any outside request
    visit.goto("/docs")
    visit.page.locator(".opblock-summary-path", has_text="/v1/sessions").first.wait_for()
    title = visit.page.locator(".swagger-ui .info .title").inner_text()
    assert title.startswith("alltoken-agent")
    assert visit.outside == []

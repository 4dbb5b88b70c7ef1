"""Browser tests of the web console: a real headless Chromium driven by Playwright.

The browser is Debian's ``chromium`` package (``.ci/run`` installs it); Playwright's own
browser downloads are never used. Without Chromium or Playwright the tests skip, and
under CI (``CI`` set) they fail instead, like the PostgreSQL tests.

Each page records every request it makes: a request to anything but the server under
test is aborted and fails the test, and no requested URL may hold a server key.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

from tests.server.conftest import KEY_A, KEY_B, MakeServer, ServerThread, make_server  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 30_000
"""How long a locator waits for the page (a ceiling under load, never a timing assertion)."""


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the browser tests (Debian's package, launched by Playwright).

    Package-scoped, not session-scoped: Playwright's sync API keeps an event loop marked
    running in the main thread while it is started, so any test run after it in the same
    process (``pytest tests/web tests/cli``) could not call ``asyncio.run``.
    """
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the browser tests need Playwright (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A browser page on a server, with what it requested."""

    page: Any
    server: ServerThread
    urls: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str = "/") -> None:
        self.page.goto(self.server.url + path)

    def login(self, key: str) -> None:
        self.page.get_by_label("Server key").fill(key)
        self.page.get_by_role("button", name="Log in").click()
        self.page.locator("#login").wait_for(state="hidden", timeout=WAIT_MS)


OpenPage = Callable[..., Visit]


def images_loaded(page: Any) -> None:
    """Wait until every gallery image has decoded (the page's CSP forbids wait_for_function)."""
    check = "images => images.every(image => image.complete && image.naturalWidth > 0)"
    for _ in range(WAIT_MS // 50):
        if page.locator("#gallery img").evaluate_all(check):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the gallery's images did not load")


@pytest.fixture
def open_page(chromium: Any) -> Iterator[OpenPage]:
    """``open_page(server, viewport=DESKTOP)``: a fresh browser context on ``server``."""
    visits: list[tuple[Any, Visit]] = []

    def open_(server: ServerThread, viewport: dict[str, int] | None = None) -> Visit:
        context = chromium.new_context(viewport=viewport or DESKTOP, service_workers="block")
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        visit = Visit(page, server)
        ours = urlsplit(server.url).netloc

        def gate(route: Any) -> None:
            url = route.request.url
            visit.urls.append(url)
            parts = urlsplit(url)
            if parts.scheme in ("blob", "data") or parts.netloc == ours:
                route.continue_()
            else:
                visit.outside.append(url)
                route.abort()

        context.route("**/*", gate)
        page.on("pageerror", lambda error: visit.errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())
        visits.append((context, visit))
        return visit

    yield open_
    for context, visit in visits:
        context.close()
        assert visit.outside == [], f"the console requested outside the server: {visit.outside}"
        for key in (KEY_A, KEY_B):
            assert not [url for url in visit.urls if key in url], "a server key was in a URL"
        assert visit.errors == [], f"the page raised: {visit.errors}"


@pytest.fixture
def keyed_server(make_server: MakeServer) -> ServerThread:  # noqa: F811
    """A server with keys A and B and limits a browser never reaches."""
    return make_server(rate_limit_per_minute=60_000, rate_limit_burst=10_000)


@pytest.fixture
def offline_server(tmp_path: Any) -> Iterator[ServerThread]:
    """An open server on ``Gateway.offline()``: its spend goes to the simulated book."""
    from alltoken_agent import Gateway
    from alltoken_agent.server import ServerOptions, create_app
    from alltoken_agent.store import Store

    gateway = Gateway.offline()
    store = Store(f"sqlite:///{tmp_path / 'offline.db'}")
    server = ServerThread(create_app(gateway, store, options=ServerOptions()), gateway, store)
    yield server
    server.stop()

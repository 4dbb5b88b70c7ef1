"""The web console: a server-rendered shell and plain ES modules over the ``/v1`` API.

Every action the console takes is an API call from the browser with the same server
key a program would send (kept in the tab's ``sessionStorage``, sent only as an
``Authorization`` header), so the API stays complete. Assets are package files served
by this app: no CDN, no build step. The pages are static and hold no data, so they
need no key; a strict Content-Security-Policy lets them run only our own scripts,
which write model output as text, never as HTML.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from alltoken_agent import __version__
from alltoken_agent.server.console.links import mask_link_logs, shared_links

ASSETS_PATH: Final = "/console/assets"
PAGES: Final = {"/": ("chat", "Chat"), "/media": ("media", "Media"), "/spend": ("spend", "Spend")}
"""Path -> (page id, title): each is the same shell, opened on its page."""

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""The shell's headers: only our own scripts and styles run, nothing embeds the page."""


STATIC: Final = Path(__file__).parent / "static"
"""The assets, package data of the wheel (hatch ships every file under the package)."""


def render_shell(page: str, title: str, *, open_server: bool) -> str:
    """The HTML shell of one page (no data: the scripts fetch it with the key)."""
    template = (STATIC / "shell.html").read_text(encoding="utf-8")
    values = {
        "page": page,
        "title": title,
        "version": __version__,
        "auth": "none" if open_server else "bearer",
        "assets": ASSETS_PATH,
    }
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", html.escape(value, quote=True))
    return template


def mount_console(app: FastAPI) -> None:
    """Serve the console's pages at ``/``, ``/media`` and ``/spend`` and its assets.

    Also keeps the app's file links (``app.state.file_links``, signed with the store's
    shared key) and masks their tokens in the logs.
    """
    app.state.file_links = shared_links(app.state.server.store)
    mask_link_logs()
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC), name="console-assets")

    def page_route(path: str, page: str, title: str) -> None:
        async def shell() -> HTMLResponse:
            open_server = bool(app.state.server.keyring.open)
            body = render_shell(page, title, open_server=open_server)
            return HTMLResponse(body, headers=SECURITY_HEADERS)

        shell.__name__ = f"console_{page}"
        app.add_api_route(path, shell, methods=["GET"], include_in_schema=False)

    for path, (page, title) in PAGES.items():
        page_route(path, page, title)

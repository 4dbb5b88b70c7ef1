"""/docs and /redoc load every file from this server: they work with no network."""

from __future__ import annotations

import re

import pytest

from tests.server.conftest import ServerThread

pytestmark = pytest.mark.slow


def _sources(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*[=:]\s*["']([^"']+)["']""", html)


def test_docs_pages_reference_only_files_this_server_serves(server: ServerThread) -> None:
    with server.client(key=None) as client:
        for page in ("/docs", "/redoc"):
            response = client.get(page)
            assert response.status_code == 200
            html = response.text
            assert "cdn." not in html and "https://" not in html, page
            sources = _sources(html)
            assert any(s.endswith(".js") for s in sources), sources
            for source in sources:
                assert source.startswith("/"), source  # this server, no other host
                asset = client.get(source)
                assert asset.status_code == 200, source
                assert len(asset.content) > 1000, source
        # Swagger UI 5 reads the OpenAPI 3.1 document FastAPI writes (4.x cannot).
        bundle = client.get("/docs-assets/swagger-ui-bundle.js").text
        assert "SwaggerUIBundle" in bundle
        assert client.get("/openapi.json").json()["openapi"].startswith("3.1")

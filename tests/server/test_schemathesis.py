"""Schemathesis against /openapi.json: no 5xx and no response that breaks the schema.

Every default check runs (server errors, status codes, content types, headers and
bodies against the schema, negative data rejected, auth not ignored) with few
examples per operation, so it stays fast; the server is a real one on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.server.conftest import KEY_A, MakeServer, auth


@pytest.fixture
def api_schema(make_server: MakeServer) -> Any:
    server = make_server(rate_limit_per_minute=600_000, rate_limit_burst=100_000)
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_schema(case: Any) -> None:
    case.call_and_validate(headers=auth(KEY_A))

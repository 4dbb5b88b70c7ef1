"""Schemathesis against /openapi.json: no 5xx and no response that breaks the schema.

Every default check runs (server errors, status codes, content types, headers and
bodies against the schema, schema-valid data accepted, invalid data rejected, auth
not ignored) with few examples per operation, so it stays fast; the server is a real
one on loopback. Half the cases that name a session get a real one of the caller's, so
reading, deleting and messaging run for real, not only their 404s; likewise half the
cases that name a media job get a finished image job of the caller's, so reading it,
fetching its file and refusing its cancel run for real.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.server.conftest import KEY_A, MakeServer, ServerThread, auth, create_session
from tests.server.test_media import fast, submit, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def schema_server(make_server: MakeServer) -> ServerThread:
    # The fuzzer sends wrong keys on purpose (to check auth is not ignored): they must not
    # get its own address blocked for the rest of the run.
    return make_server(
        rate_limit_per_minute=600_000, rate_limit_burst=100_000, auth_failure_limit=100_000
    )


@pytest.fixture
def api_schema(schema_server: ServerThread) -> Any:
    # The key goes in as the schema's security scheme, so schemathesis knows it is auth:
    # it sends it, and also checks that requests without it are refused.
    config = schemathesis.Config.from_dict({"auth": {"openapi": {"ServerKey": {"bearer": KEY_A}}}})
    return schemathesis.openapi.from_url(f"{schema_server.url}/openapi.json", config=config)


@pytest.fixture
def new_session(schema_server: ServerThread) -> Iterator[Callable[[], str]]:
    with httpx.Client(base_url=schema_server.url, headers=auth(KEY_A), timeout=30) as client:
        yield lambda: create_session(client)


@pytest.fixture
def finished_job(schema_server: ServerThread, sim: Any) -> str:
    sim.state.media.image_seconds = 0.05
    fast(schema_server)
    with httpx.Client(base_url=schema_server.url, headers=auth(KEY_A), timeout=30) as client:
        job = submit(client, "images", prompt="a fox for schemathesis")
        wait_for(client, job["id"], "completed")
    return str(job["id"])


schema = schemathesis.pytest.from_fixture("api_schema")
_turns = itertools.count()


# Fuzzed media requests name any model; the server passes the user's choice on and the
# gateway (here the simulator) refuses the unknown ones: invalid on purpose.
@pytest.mark.invalid_requests_expected
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(
    case: Any, new_session: Callable[[], str], finished_job: str
) -> None:
    parameters = case.path_parameters or {}
    if "session_id" in parameters and next(_turns) % 2 == 0:
        case.path_parameters["session_id"] = new_session()
    if "job_id" in parameters and next(_turns) % 2 == 0:
        case.path_parameters["job_id"] = finished_job
        if "index" in parameters:
            case.path_parameters["index"] = 0
    case.call_and_validate()

"""A run's end is one event: the same ``done`` from the CLI, the server's SSE and MCP.

The CLI prints ``DoneEvent.to_dict()`` with ``--json``; the server sends it as its last
SSE event (plus ``session_id``, ``request_cost`` and ``budget``); the MCP ``chat`` tool
returns it as structured content (plus ``session`` and ``session_messages``). The server's
final ``error`` is the error's own ``to_dict()``, as the CLI's ``--json`` error is.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from mcp.client.client import Client

from alltoken_agent import Gateway
from alltoken_agent.ledger import Ledger
from alltoken_agent.server.auth import Caller
from alltoken_agent.server.leases import SessionLeases
from alltoken_agent.server.limits import ConcurrencyLimiter
from alltoken_agent.server.runs import RunRegistry
from alltoken_agent.server.storage import StoreCalls
from alltoken_agent.server.turns import error_payload
from alltoken_agent.store import Store
from tests.cli.helpers import ndjson, run_cli
from tests.gateway.helpers import TEST_KEY
from tests.mcp.helpers import serve_in_thread
from tests.server.conftest import ServerThread, create_session
from tests.server.test_messages import stream

pytestmark = pytest.mark.slow

MODEL = "minimax-m2.7"
PROMPT = 'What is 6*7? [[call calculate {"expression": "6*7"}]]'
DONE_FIELDS = [
    "event",
    "text",
    "model",
    "stop_reason",
    "steps",
    "usage",
    "cost",
    "request_id",
    "request_ids",
    "tool_calls",
    "simulated",
]
# Equal wherever the turn ran: the simulator's answer does not depend on the front end.
SAME_VALUES = ("text", "model", "stop_reason", "steps", "tool_calls")


async def _mcp_done() -> dict[str, Any]:
    with serve_in_thread(Gateway.offline) as running:
        async with Client(running.url) as client:
            result = await client.call_tool("chat", {"prompt": PROMPT, "model": MODEL})
    assert not result.is_error and result.structured_content is not None
    return dict(result.structured_content)


def _check_done(done: dict[str, Any]) -> None:
    assert done["text"] == "(simulated) calculate returned: expression=6*7, result=42."
    assert done["tool_calls"] == [
        {"name": "calculate", "arguments": {"expression": "6*7"}, "is_error": False}
    ]
    assert done["steps"] == 2 == len(done["request_ids"])
    assert done["request_id"] == done["request_ids"][-1]
    assert done["usage"]["total_tokens"] > 0
    assert set(done["cost"]) == {"cost", "currency", "input_price", "output_price", "source"}
    assert Decimal(done["cost"]["cost"]) > 0


def test_done_is_one_shape_in_the_cli_the_server_and_mcp(server: ServerThread) -> None:
    cli = run_cli("chat", "--offline", "--json", "--model", MODEL, "--tools", "calculate", PROMPT)
    assert cli.exit_code == 0, cli.stderr
    cli_done = ndjson(cli.stdout)[-1]
    with server.client() as client:
        session_id = create_session(client, model=MODEL, tools=["calculate"])
        _, events = stream(client, session_id, PROMPT)
    name, sse_done = events[-1]
    # The CLI runs its own event loop, so the MCP client gets one of its own too.
    mcp_done = {"event": "done", **asyncio.run(_mcp_done())}

    assert name == "done" and list(cli_done) == DONE_FIELDS
    assert [k for k in sse_done if k in DONE_FIELDS] == DONE_FIELDS
    assert set(sse_done) - set(DONE_FIELDS) == {"session_id", "request_cost", "budget"}
    assert set(mcp_done) - set(DONE_FIELDS) == {"session", "session_messages"}
    assert set(DONE_FIELDS) <= set(mcp_done)
    for done in (cli_done, sse_done, mcp_done):
        _check_done(done)
        assert {k: done[k] for k in SAME_VALUES} == {k: cli_done[k] for k in SAME_VALUES}
        assert set(done["usage"]) == set(cli_done["usage"])
    # The CLI and MCP ran offline; the server's gateway is the simulator playing a real one.
    assert (cli_done["simulated"], mcp_done["simulated"], sse_done["simulated"]) == (
        True,
        True,
        False,
    )


def test_the_servers_error_event_is_the_errors_own_fields(server: ServerThread, sim: Any) -> None:
    # A stream that ends early is a StreamInterruptedError, whose to_dict() says what
    # arrived (complete, partial_chars): fields the hand-built event left out.
    sim.state.enqueue_faults(["eof:2"])  # a stream that began is never sent again
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    cli = run_cli("chat", "--json", "--base-url", sim.base_url, "--model", MODEL, "hello", env=env)
    with server.client() as client:
        session_id = create_session(client, model=MODEL)
        sim.state.enqueue_faults(["eof:2"])
        _, events = stream(client, session_id, "hello")
    name, error = events[-1]
    cli_error = ndjson(cli.stdout)[-1]
    assert name == "error" == cli_error["event"], cli.stderr
    assert error["type"] == cli_error["type"] == "StreamInterruptedError"
    assert error["complete"] is False
    added = {"session_id", "request_cost", "budget"}
    assert set(error) - added == set(cli_error)
    assert {k: v for k, v in error.items() if k not in added | {"request_id"}} == {
        k: v for k, v in cli_error.items() if k != "request_id"
    }


async def test_a_run_that_dies_unfinished_ends_with_an_error_of_the_same_shape() -> None:
    # A run's task that ends without finishing (a bug of ours) must not leave its
    # stream waiting; its last event has the fields of every other final error.
    with Store() as store:
        calls = StoreCalls(Ledger(store, simulated=True))
        try:
            registry = RunRegistry(ConcurrencyLimiter(1), SessionLeases(store.sessions, calls))
            run = registry.admit(Caller(owner=None), "sess_gone", streaming=True)

            async def body() -> None:
                raise RuntimeError("a bug")

            registry.start(run, body())
            end = await run.wait()
        finally:
            calls.close()
    expected = error_payload(RuntimeError("x"), str, "sess_gone", None, None)
    assert end.name == "error" and list(end.payload) == list(expected)
    assert end.payload["code"] == "internal_error" and end.payload["session_id"] == "sess_gone"
    assert run.events.take()[-2:] == [("error", end.payload), None]

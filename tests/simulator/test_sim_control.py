from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from starlette.applications import Starlette

import alltoken_agent.simulator as simulator
from alltoken_agent.simulator import (
    DIALECTS,
    FAULT_HEADER,
    SimulatorServer,
    SimulatorState,
    create_app,
)

from .conftest import API_KEY
from .helpers import chat


def test_public_surface() -> None:
    assert sorted(simulator.__all__) == [
        "DIALECTS",
        "FAULT_HEADER",
        "SimulatorServer",
        "SimulatorState",
        "create_app",
        "run",
    ]
    assert DIALECTS == ("alltoken", "tokenhub")
    assert FAULT_HEADER == "X-Sim-Fault"


def test_create_app_exposes_state() -> None:
    state = SimulatorState()
    app = create_app("tokenhub", state=state)
    assert isinstance(app, Starlette)
    assert app.state.sim is state
    assert isinstance(create_app().state.sim, SimulatorState)
    with pytest.raises(ValueError, match="dialect"):
        create_app("openai")  # type: ignore[arg-type]


def test_request_log_records_the_wire_without_the_key(
    client: httpx.Client, sim: SimulatorServer
) -> None:
    body = chat(temperature=0.5)
    client.post("/chat/completions", json=body, headers={"X-Trace": "abc"})
    client.get("/models", params={"page": "2"}, headers={FAULT_HEADER: "500"})
    first, second = sim.state.requests
    assert (first.method, first.path, first.json, first.status, first.fault) == (
        "POST",
        "/v1/chat/completions",
        body,
        200,
        None,
    )
    assert first.has_auth is True
    assert first.headers["x-trace"] == "abc"
    assert "authorization" not in first.headers
    assert API_KEY not in repr(first)
    assert (second.method, second.query, second.json, second.status, second.fault) == (
        "GET",
        {"page": "2"},
        None,
        500,
        "500",
    )
    assert sim.state.counters["requests"] == 2
    assert sim.state.counters["faults"] == 1


def test_request_log_over_http_and_reset(
    client: httpx.Client, root: httpx.Client, sim: SimulatorServer
) -> None:
    client.post("/chat/completions", json=chat())
    with httpx.Client(base_url=sim.base_url, trust_env=False) as anonymous:
        anonymous.get("/models")
    log = root.get("/_sim/requests").json()
    assert [(r["path"], r["status"], r["has_auth"]) for r in log["requests"]] == [
        ("/v1/chat/completions", 200, True),
        ("/v1/models", 401, False),
    ]
    assert log["counters"]["/v1/chat/completions"] == 1
    sim.state.enqueue_faults(["500"])
    assert root.post("/_sim/reset").json() == {"reset": True}
    assert root.get("/_sim/requests").json()["requests"] == []
    assert root.get("/_sim/faults").json() == {"pending": []}
    assert sim.state.counters == {}


def test_control_and_public_routes_are_not_logged(root: httpx.Client, sim: SimulatorServer) -> None:
    root.get("/api-account/models")
    root.get("/_sim/requests")
    assert sim.state.requests == []


def test_state_is_usable_from_many_threads(client: httpx.Client, sim: SimulatorServer) -> None:
    sim.state.enqueue_faults(["503"] * 10)

    def hit() -> None:
        with httpx.Client(
            base_url=sim.base_url, headers={"Authorization": "Bearer k"}, trust_env=False
        ) as c:
            for _ in range(5):
                c.get("/models")

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [r.status for r in sim.state.requests]
    assert len(statuses) == 20
    assert statuses.count(503) == 10
    assert statuses.count(200) == 10
    assert len({r.request_id for r in sim.state.requests}) == 20


@pytest.mark.slow
def test_server_starts_and_stops_quickly_many_times() -> None:
    before = threading.active_count()
    for dialect in DIALECTS * 3:
        with SimulatorServer(dialect) as server:
            assert server.url.startswith("http://127.0.0.1:")
            assert server.base_url == server.url + "/v1"
            assert server.dialect == dialect
            response = httpx.get(server.base_url + "/models", headers={"Authorization": "Bearer k"})
            assert response.status_code == 200
        with pytest.raises(RuntimeError, match="not running"):
            _ = server.url
    assert threading.active_count() == before


def test_server_refuses_non_loopback_and_bad_dialect() -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="dialect"):
        SimulatorServer("openai")
    with pytest.raises(ValueError, match="loopback"):
        simulator.run("0.0.0.0", 8080, "alltoken")


def test_server_double_start_and_stop_are_safe() -> None:
    server = SimulatorServer()
    server.stop()  # not started: no-op
    server.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        server.stop()
        server.stop()


def test_chunk_delay_spreads_the_stream() -> None:
    auth = {"Authorization": "Bearer k"}
    with (
        SimulatorServer(chunk_delay=0.01) as server,
        httpx.Client(base_url=server.base_url, headers=auth, trust_env=False) as c,
    ):
        started = time.perf_counter()
        response = c.post("/chat/completions", json=chat(stream=True))
        assert response.status_code == 200
        assert time.perf_counter() - started >= 0.1  # 20+ chunks at 10 ms each


@pytest.mark.slow
def test_run_serves_in_the_foreground_until_ctrl_c() -> None:
    """`run()` blocks in the foreground, so it gets a process of its own here."""
    code = "from alltoken_agent.simulator import run; run('127.0.0.1', 0, 'tokenhub')"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    # Reading stderr blocks; a child that never prints its URL is killed, which ends the read.
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "uvicorn did not report its URL"
        response = httpx.post(
            url + "/v1/chat/completions",
            json=chat("tokenhub/deepseek-v3.2"),
            headers={"Authorization": "Bearer k"},
            trust_env=False,
        )
        assert response.status_code == 200
        assert "system_fingerprint" in response.json()  # the TokenHub dialect
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_run_reports_a_taken_port_as_oserror(sim: SimulatorServer) -> None:
    taken = int(sim.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        simulator.run("127.0.0.1", taken, "alltoken")


def test_the_socket_whose_url_is_printed_already_takes_connections() -> None:
    # run() prints its URL before uvicorn starts; a client that connects at once must
    # wait in the backlog, not be refused (it was, now and then, under load in CI).
    from alltoken_agent.simulator.server import _bind

    sock = _bind("127.0.0.1", 0)
    try:
        with socket.create_connection(sock.getsockname()[:2], timeout=5):
            pass
    finally:
        sock.close()

"""Fixtures shared by every test: isolation from the machine, and a guard against the network."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KEY_VARS = (
    "ALLTOKEN_API_KEY",
    "TOKENHUB_API_KEY",
    "OPENAI_API_KEY",
    "ALLTOKEN_AGENT_PROVIDER",
    "ALLTOKEN_AGENT_MODEL",
    "ALLTOKEN_AGENT_BASE_URL",
    "ALLTOKEN_AGENT_DEBUG",
    "OPENAI_BASE_URL",
)
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}
_real_getaddrinfo = socket.getaddrinfo

# A shell that starts a job in the background without job control (`cmd &` in a script)
# ignores SIGINT for it, and the ignore is inherited through exec: the CLI processes the
# Ctrl-C tests start would then never see the signal. Those tests stand for a person at
# a terminal, where Ctrl-C is delivered, so the suite restores it for its children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


_POSTGRES_FIXTURES = frozenset({"pg_url", "postgres"})
"""tests/server/conftest.py's throwaway cluster, under the names test modules reuse it by."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs PostgreSQL ``slow``: each worker starts a cluster for it.

    By rule rather than by hand, so a new PostgreSQL test stays out of the fast loop
    (``-m "not slow"``, docs/testing.md): one that asks for the fixture, or that a
    ``params=["sqlite", "postgresql"]`` fixture runs on PostgreSQL.
    """
    for item in items:
        callspec = getattr(item, "callspec", None)
        values = callspec.params.values() if callspec is not None else ()
        on_postgres = any(isinstance(value, str) and value == "postgresql" for value in values)
        if on_postgres or _POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    return name in _LOOPBACK_NAMES or name.startswith("127.")


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise OSError(f"tests may only reach loopback addresses, not {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """No real keys, a private home for config/data/cache, and no way off loopback."""
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ALLTOKEN_AGENT_HOME", str(home))
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield home


@pytest.fixture(autouse=True)
def no_invalid_requests(
    request: pytest.FixtureRequest, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fail a test whose code sent a request the simulator rejected as invalid.

    Every simulator validates requests against AllToken's request models; the session
    simulators and any started in the test record rejections in this process, and one
    in a child process (a CLI run with --offline) appends them to the file named by the
    environment. A test that sends bad requests on purpose says so with
    `@pytest.mark.invalid_requests_expected`.
    """
    from alltoken_agent.simulator.validation import REJECTIONS, REJECTIONS_ENV

    log = isolated_environment / "simulator-rejections.jsonl"
    monkeypatch.setenv(REJECTIONS_ENV, str(log))
    mark = REJECTIONS.mark()
    yield
    if request.node.get_closest_marker("invalid_requests_expected") is not None:
        return
    rejected = [f"{r.method} {r.path}: {r.message}" for r in REJECTIONS.since(mark)]
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            child = json.loads(line)
            if child.get("pid") != os.getpid():  # this process's are in REJECTIONS
                rejected.append(f"{child['method']} {child['path']}: {child['message']}")
    if rejected:
        pytest.fail(
            "the simulator rejected requests as invalid (mark the test "
            "invalid_requests_expected if it sends them on purpose):\n" + "\n".join(rejected)
        )


@pytest.fixture(scope="session")
def alltoken_sim() -> Iterator[Any]:
    """The simulator in AllToken's dialect, served over loopback for the whole session.

    It plays a real gateway (``identify=False``: no ``X-Simulator`` header), so what the
    client spends on it is booked as real; tests of the label start their own.
    """
    from alltoken_agent.simulator import SimulatorServer

    with SimulatorServer("alltoken", identify=False) as server:
        yield server


@pytest.fixture(scope="session")
def tokenhub_sim() -> Iterator[Any]:
    """The simulator in TokenHub's dialect, playing a real gateway like ``alltoken_sim``."""
    from alltoken_agent.simulator import SimulatorServer

    with SimulatorServer("tokenhub", identify=False) as server:
        yield server


@pytest.fixture
def sim(alltoken_sim: Any) -> Any:
    """The AllToken-dialect simulator with a clean fault queue and request log."""
    alltoken_sim.state.reset()
    return alltoken_sim


@pytest.fixture
def th_sim(tokenhub_sim: Any) -> Any:
    """The TokenHub-dialect simulator, reset."""
    tokenhub_sim.state.reset()
    return tokenhub_sim


@dataclass
class SimulatorCommand:
    """`alltoken-agent simulator` running in its own process (:func:`start_simulator`)."""

    url: str
    """The base URL it announced (`http://127.0.0.1:PORT/v1`)."""
    announced: str
    """Its first line on stderr, which announced the URL."""
    process: subprocess.Popen[str]
    rest: str = ""
    """The rest of its stderr, once stopped."""


@contextlib.contextmanager
def start_simulator() -> Iterator[SimulatorCommand]:
    """`alltoken-agent simulator --port 0` as a user starts it, stopped with Ctrl-C after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "simulator", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    command: SimulatorCommand | None = None
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/v1", first)
        assert match, first
        command = SimulatorCommand(match.group(0), first, process)
        yield command
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
        if command is not None:
            command.rest = rest

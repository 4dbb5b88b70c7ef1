"""`alltoken-agent serve --processes N`: several server processes on one port.

Each test runs the real command (``python -m alltoken_agent serve --processes 2``) on
port 0, against the session's simulator over loopback, with its own home folder (and so
its own SQLite store and media folder). Which process served a request is read from the
server's own access lines (each worker's lines start with ``[process K/N]``), matched by
the client's port: nothing in a response says which process answered.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent.server import bind_socket, owner_id, processes
from alltoken_agent.server.processes import WorkerSlot, supervise
from alltoken_agent.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository
from tests.cli.helpers import write_config
from tests.server.conftest import GATEWAY_KEY, auth, create_session
from tests.server.test_messages import SSE, iter_sse
from tests.server.test_replica_failover import (
    assert_busy,
    chat_requests,
    job_once,
    until_first_delta,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)"),
]

ROOMY = "[server]\nrate_limit_per_minute = 6000\nrate_limit_burst = 1000\n"
"""Limits the tests' polling stays within (they count per process)."""


def descendants(pid: int) -> set[int]:
    """Every live process under ``pid`` (children, their children, ...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":  # a zombie has ended; only its reaping is left
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def workers(pid: int) -> set[int]:
    """The server processes under ``pid`` (not multiprocessing's resource tracker)."""
    found = set()
    for child in descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.add(child)
    return found


class Served:
    """``alltoken-agent serve --processes N`` as a child process, its output in files."""

    def __init__(
        self, home: Path, sim: Any, key: str, count: int = 2, *extra: str, config: str = ROOMY
    ) -> None:
        self.home = home
        self.count = count
        self.out, self.err = home / "serve.out", home / "serve.err"
        write_config(home, config)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env |= {
            "ALLTOKEN_AGENT_HOME": str(home),
            "ALLTOKEN_AGENT_SERVER_KEYS": key,
            "ALLTOKEN_API_KEY": GATEWAY_KEY,
        }
        command = [sys.executable, "-m", "alltoken_agent", "serve", "--port", "0"]
        command += ["--base-url", sim.base_url, "--processes", str(count), *extra]
        with self.out.open("w") as out, self.err.open("w") as err:
            # A process group of its own, as a terminal's job: Ctrl-C reaches all of it.
            self.process = subprocess.Popen(
                command, stdout=out, stderr=err, env=env, start_new_session=True
            )
        self.url = self._wait_url()
        self.pid = self.process.pid

    def _wait_url(self) -> str:
        def announced() -> str | None:
            if self.process.poll() is not None:
                raise AssertionError(f"serve ended:\n{self.err.read_text()}")
            found = re.search(r"server on (http://127\.0\.0\.1:\d+)", self.out.read_text())
            return found.group(1) if found else None

        url: str = wait_until(announced, "the server's address", timeout=90)
        return url

    def served_by(self, port: int) -> int | None:
        """Which process (1 to N) logged the request from client port ``port``."""
        pattern = rf"\[process (\d+)/{self.count}\] 127\.0\.0\.1:{port} - "
        found = re.search(pattern, self.out.read_text())
        return int(found.group(1)) if found else None

    def wait_served_by(self, port: int) -> int:
        """:meth:`served_by`, once its access line is written."""
        by: int = wait_until(lambda: self.served_by(port), f"the access line of port {port}")
        return by

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            for pid in descendants(self.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait(10)
            raise
        finally:  # shown by pytest only when the test fails
            print(f"serve's stderr:\n{self.err.read_text()}")


def client_port(response: httpx.Response) -> int:
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


@pytest.fixture
def key() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def served(isolated_environment: Path, sim: Any, key: str) -> Iterator[Served]:
    server = Served(isolated_environment, sim, key)
    try:
        yield server
    finally:
        server.stop()


def test_two_processes_share_the_port_and_sigterm_stops_them_all_with_exit_0(
    served: Served, key: str
) -> None:
    pids = workers(served.pid)
    assert len(pids) == 2
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while seen != {1, 2}:  # each request on a new connection: either process may accept it
        assert time.monotonic() < deadline, f"only process {seen} served"
        with httpx.Client(base_url=served.url, headers=auth(key), timeout=30) as client:
            with client.stream("GET", "/v1/sessions") as response:
                assert response.status_code == 200
                port = client_port(response)
        seen.add(served.wait_served_by(port))
    with httpx.Client(base_url=served.url, timeout=30) as client:
        limits = client.get("/v1/capabilities").json()["limits"]
    assert limits["processes"] == 2  # each counts the rate limits on its own: said here
    everyone = descendants(served.pid)
    assert served.stop() == 0
    wait_until(lambda: not any(alive(pid) for pid in everyone), "every process gone", 30)
    out = served.out.read_text()
    assert out.count("alltoken-agent server on") == 1  # one address, printed once
    err = served.err.read_text()
    assert "Traceback" not in err
    assert err.count("sessions and usage in") == 1  # said once, by the parent
    for index in (1, 2):
        assert f"[process {index}/2] Finished server process" in err  # each drained


def test_ctrl_c_in_a_terminal_stops_every_process_gracefully_with_exit_0(served: Served) -> None:
    everyone = descendants(served.pid)
    assert len(workers(served.pid)) == 2
    os.killpg(served.pid, signal.SIGINT)  # what Ctrl-C does: the parent and workers get it
    assert served.process.wait(60) == 0
    wait_until(lambda: not any(alive(pid) for pid in everyone), "every process gone", 30)
    err = served.err.read_text()
    assert "Traceback" not in err
    for index in (1, 2):
        assert f"[process {index}/2] Finished server process" in err  # drained, not forced


@contextmanager
def stalled_turn(
    served: Served, sim: Any, key: str, seconds: int
) -> Iterator[tuple[str, Iterator[tuple[str, dict[str, Any]]]]]:
    """A message whose answer stalls after its third chunk, read up to its first text.

    Yields the session's id and the rest of its events, as they come.
    """
    with httpx.Client(base_url=served.url, headers=auth(key), timeout=30) as client:
        session_id = create_session(client)
        sim.state.enqueue_faults([f"stall:3:{seconds}"])
        with client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Tell me a story."},
            headers=SSE,
        ) as running:
            events = iter_sse(running)
            until_first_delta(events)
            yield session_id, events


def test_ctrl_c_after_the_parents_sigterm_does_not_force_a_worker(
    isolated_environment: Path, sim: Any, key: str
) -> None:
    """The terminal's SIGINT can reach a worker after its parent's SIGTERM (CI saw it).

    To uvicorn a SIGINT after a stop began means "force quit": the app's shutdown was
    skipped and its cancelled lifespan printed a traceback. A worker takes it as one
    more graceful stop. A stalled run keeps a worker draining while the SIGINT lands.
    """
    served = Served(isolated_environment, sim, key, config=ROOMY + "shutdown_grace = 3\n")
    try:
        with stalled_turn(served, sim, key, 60) as (_, events):
            os.kill(served.pid, signal.SIGTERM)
            wait_until(lambda: "Shutting down" in served.err.read_text(), "a stop", 30)
            os.killpg(served.pid, signal.SIGINT)  # while the other one drains its run
            rest = [event for event, _ in events]
        assert rest[-1] == "error"  # its run was cancelled at the grace's end, as said
        assert served.process.wait(60) == 0
    finally:
        served.stop()
    err = served.err.read_text()
    assert "Traceback" not in err
    for index in (1, 2):
        assert f"[process {index}/2] Application shutdown complete" in err


@pytest.mark.parametrize("count", [1, 2])
def test_ctrl_c_twice_cancels_the_runs_at_once_and_still_stops_cleanly(
    isolated_environment: Path, sim: Any, key: str, count: int
) -> None:
    """The second Ctrl-C does not wait out the grace, and skips nothing that saves.

    Uvicorn's own "force quit" skipped the app's shutdown (which flushes the store's
    queued writes, such as the cancelled request's ledger row) and printed a traceback.
    """
    config = ROOMY + "shutdown_grace = 120\n"
    served = Served(isolated_environment, sim, key, count, config=config)
    try:
        with stalled_turn(served, sim, key, 300) as (session_id, events):
            os.killpg(served.pid, signal.SIGINT)  # Ctrl-C: the run has 120 s
            time.sleep(1)
            cut = time.monotonic()
            os.killpg(served.pid, signal.SIGINT)  # and again
            rest = list(events)
        assert time.monotonic() - cut < 30
        assert rest[-1][0] == "error"
        assert rest[-1][1]["code"] == "server_shutdown"
        assert served.process.wait(60) == 0
    finally:
        served.stop()
    err = served.err.read_text()
    assert "Traceback" not in err
    assert err.count("Application shutdown complete") == count
    owner = owner_id(key)
    with Store() as store:  # the server's: the home's SQLite file
        rows = [
            row
            for simulated in (False, True)
            for row in UsageRepository.of(store).rows(
                UsageQuery(owner=owner, simulated=simulated, session=session_id)
            )
        ]
    assert len(rows) == 1  # the cancelled request, booked


@pytest.fixture(params=["sqlite", "postgresql"])
def served_on(
    request: pytest.FixtureRequest, isolated_environment: Path, sim: Any, key: str
) -> Iterator[Served]:
    """:func:`served` on the home's SQLite file, then on PostgreSQL."""
    store = [] if request.param == "sqlite" else ["--store", request.getfixturevalue("pg_url")]
    server = Served(isolated_environment, sim, key, 2, *store)
    try:
        yield server
    finally:
        server.stop()


def test_a_busy_session_is_409_with_retry_after_on_the_other_process(
    served_on: Served, sim: Any, key: str
) -> None:
    served = served_on
    with httpx.Client(base_url=served.url, headers=auth(key), timeout=30) as first:
        session_id = create_session(first)
        sim.state.enqueue_faults(["stall:3:60"])  # the model stops after its third chunk
        with first.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "Tell me a story."},
            headers=SSE,
        ) as running:
            assert running.status_code == 200
            events = iter_sse(running)  # kept: a dropped generator may close the stream
            until_first_delta(events)
            port = client_port(running)
            runner = served.wait_served_by(port)
            others: set[int] = set()
            deadline = time.monotonic() + 60
            while not others - {runner}:  # until the other process said so too
                assert time.monotonic() < deadline, f"no second message reached {others}"
                with httpx.Client(base_url=served.url, headers=auth(key), timeout=30) as c:
                    with c.stream(
                        "POST", f"/v1/sessions/{session_id}/messages", json={"content": "More?"}
                    ) as again:
                        again.read()
                        assert_busy(again)
                        there = client_port(again)
                others.add(served.wait_served_by(there))
            assert len(chat_requests(sim)) == 1  # never a second turn at once
    assert "Traceback" not in served.err.read_text()


def test_a_killed_process_is_replaced_and_its_media_job_finishes_once(
    isolated_environment: Path, sim: Any, key: str
) -> None:
    media = isolated_environment / "media"
    served = Served(isolated_environment, sim, key, 2, "--media-dir", str(media))
    try:
        before = workers(served.pid)
        assert len(before) == 2
        owner = owner_id(key)
        sim.state.media.enqueue_job_faults(["slow:600"])
        with httpx.Client(base_url=served.url, headers=auth(key), timeout=30) as client:
            response = client.post(
                "/v1/images", json={"prompt": "a fox", "size": "1024x1024", "quality": "low"}
            )
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            job_once(client, job_id, "pending", 60)  # submitted: one process polls it

            with Store() as store:  # the server's store: the home's SQLite file
                record: str = wait_until(
                    lambda: (r := store.media_jobs.get(job_id, owner=owner)) and r.lease_owner,
                    "the job's lease",
                )
                holder = int(record.split("/")[1])  # host/pid/random
                assert holder in before
                os.kill(holder, signal.SIGKILL)  # the process polling the job
                wait_until(
                    lambda: "killed by SIGKILL); starting a new one" in (served.err.read_text()),
                    "the replacement",
                )
                now = wait_until(lambda: len(w := workers(served.pid)) == 2 and w, "two again")
                assert holder not in now
                # Taken over: the survivor's sweep or the new process's start-up resume.
                wait_until(
                    lambda: (
                        (r := store.media_jobs.get(job_id, owner=owner))
                        and r.lease_owner
                        and int(r.lease_owner.split("/")[1]) in now
                    ),
                    "the takeover",
                    timeout=90,
                )
            sim.state.media.advance(600)
            done = job_once(client, job_id, "completed", 120)
            usage = wait_until(
                lambda: (u := client.get("/v1/usage").json())["totals"]["requests"] and u,
                "the job's ledger row",
            )
        assert sim.state.media.submits == {"image": 1}  # polled after the kill, never resubmitted
        (saved,) = done["files"]
        (file,) = (media / owner).iterdir()  # one file, saved once
        assert file.stat().st_size == saved["size"]
        assert usage["totals"]["requests"] == 1  # the job's one ledger row
        everyone = descendants(served.pid)
    finally:
        code = served.stop()
    assert code == 0
    wait_until(lambda: not any(alive(pid) for pid in everyone), "every process gone", 30)
    err = served.err.read_text()
    assert "Traceback" not in err
    # The replacement or the survivor took it over, and says so as a warning tagged with
    # its process (the lease says it, whichever pass started the run).
    taken = re.search(r"\[process \d/2\] taking over media job (job_\w+)", err)
    assert taken is not None and taken.group(1) == job_id


def test_workers_stop_when_the_parent_is_killed(served: Served) -> None:
    everyone = descendants(served.pid)
    assert len(workers(served.pid)) == 2
    served.process.kill()  # SIGKILL: the parent cannot forward anything
    served.process.wait(10)
    wait_until(lambda: not any(alive(pid) for pid in everyone), "every worker gone", 60)
    err = served.err.read_text()
    for index in (1, 2):
        assert f"[process {index}/2] Finished server process" in err  # a graceful stop


def _ready_then_wait(sock: socket.socket, slot: WorkerSlot, fail_code: int) -> None:
    """A worker body for :func:`supervise`: the last worker fails before it is ready."""
    if slot.index == slot.count:
        raise SystemExit(fail_code)
    slot.ready()
    signal.pause()  # until the parent's SIGTERM ends it


def test_a_process_that_fails_to_start_stops_the_others_with_its_exit_code() -> None:
    announced: list[int] = []
    sock = bind_socket("127.0.0.1", 0)
    try:
        code = supervise(
            2, sock, _ready_then_wait, (3,), stop_timeout=30, announce=lambda: announced.append(1)
        )
    finally:
        sock.close()
    assert code == 3
    assert announced == []  # never all ready: the address is not announced
    assert workers(os.getpid()) == set()  # the other one was stopped and reaped


def _ready_then_exit(sock: socket.socket, slot: WorkerSlot) -> None:
    """A worker body that ends on its own right after it is ready (as a crash would)."""
    slot.ready()


def test_a_process_that_keeps_dying_is_replaced_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(processes, "MAX_RESTARTS", 2)
    announced: list[int] = []
    sock = bind_socket("127.0.0.1", 0)
    try:
        code = supervise(
            1, sock, _ready_then_exit, stop_timeout=30, announce=lambda: announced.append(1)
        )
    finally:
        sock.close()
    assert code == 1
    assert announced == [1]  # announced once, not again for each replacement
    err = capfd.readouterr().err
    assert err.count("ended unexpectedly (exit code 0); starting a new one") == 2
    assert "2 processes were replaced in the last 60 s, so stopping the server" in err


def _deaf_to_sigterm(sock: socket.socket, slot: WorkerSlot) -> None:
    """A worker body that ignores SIGTERM (a hung shutdown)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    slot.ready()
    while True:
        signal.pause()


def test_a_process_that_does_not_stop_in_time_is_killed_and_the_exit_code_says_so(
    capfd: pytest.CaptureFixture[str],
) -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        # Once both serve, the supervisor is asked to stop, as by SIGTERM from outside.
        code = supervise(
            2,
            sock,
            _deaf_to_sigterm,
            stop_timeout=0.5,
            announce=lambda: os.kill(os.getpid(), signal.SIGTERM),
        )
    finally:
        sock.close()
    assert code == 1
    assert workers(os.getpid()) == set()  # killed and reaped, none left behind
    assert capfd.readouterr().err.count("did not stop in time; killing it") == 2

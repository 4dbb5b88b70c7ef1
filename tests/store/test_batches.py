"""The batch journal: each line is taken by one runner only, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.store import Store
from alltoken_agent.store.batches import BatchRepository, NewItem
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY
from tests.server import conftest as server_fixtures

postgres = server_fixtures.pg_url
"""The server tests' PostgreSQL fixture (``pg_url``), reused here under this name."""


def _open(repo: BatchRepository, run_id: str, lines: int) -> None:
    items = [NewItem(line=n, request={"prompt": f"p{n}"}) for n in range(1, lines + 1)]
    repo.open_run(run_id, input_sha256="0" * 64, input_name="in.jsonl", settings={}, items=items)


def test_opening_a_run_again_keeps_the_first_and_its_progress(store: Store) -> None:
    repo = BatchRepository.of(store)
    _open(repo, "bat_a", 2)
    item = repo.claim("me/1/x", 60, run_id="bat_a")
    assert item is not None
    assert repo.finish(item, "me/1/x", output={"line": 1}, cost=None, ok=True)

    _open(repo, "bat_a", 2)

    assert [(i.line, i.status) for i in repo.items("bat_a")] == [(1, "done"), (2, "queued")]


@pytest.mark.slow
def test_racing_threads_never_take_the_same_line(store: Store) -> None:
    repo = BatchRepository.of(store)
    _open(repo, "bat_race", 60)
    taken: list[int] = []
    lock = threading.Lock()

    def drain(holder: str) -> None:
        while (item := repo.claim(holder, 60, run_id="bat_race")) is not None:
            with lock:
                taken.append(item.line)
            assert repo.finish(item, holder, output={}, cost=None, ok=True)

    threads = [threading.Thread(target=drain, args=(f"h/{n}/t",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(taken) == list(range(1, 61))
    assert {i.status for i in repo.items("bat_race")} == {"done"}


def test_a_dead_holder_on_this_host_loses_its_line_at_once(store: Store) -> None:
    repo = BatchRepository.of(store)
    _open(repo, "bat_dead", 1)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    holder = f"{socket.gethostname()}/{dead}/x"
    assert repo.claim(holder, 3600, run_id="bat_dead") is not None

    item = repo.claim("other/1/y", 60, run_id="bat_dead")

    assert item is not None and item.lease_owner == "other/1/y"
    # The dead holder's late answer is not recorded over the new holder's claim.
    assert not repo.finish(item, holder, output={}, cost=None, ok=True)


def test_a_live_holder_elsewhere_keeps_its_line_until_its_lease_ends(store: Store) -> None:
    repo = BatchRepository.of(store)
    _open(repo, "bat_live", 1)
    assert repo.claim("elsewhere/1/a", 3600, run_id="bat_live") is not None
    assert repo.claim("here/2/b", 60, run_id="bat_live") is None

    _open(repo, "bat_gone", 1)
    assert repo.claim("elsewhere/1/a", 0, run_id="bat_gone") is not None  # ends at once
    assert repo.claim("here/2/b", 60, run_id="bat_gone") is not None


def test_a_released_line_is_queued_again(store: Store) -> None:
    repo = BatchRepository.of(store)
    _open(repo, "bat_rel", 1)
    item = repo.claim("h/1/a", 60, run_id="bat_rel")
    assert item is not None
    repo.release(item, "h/1/a")
    assert [i.status for i in repo.items("bat_rel")] == ["queued"]


@pytest.mark.slow
def test_two_workers_drain_a_200_line_batch_on_postgresql_running_no_line_twice(
    postgres: str, sim: Any, tmp_path: Path
) -> None:
    token = os.urandom(4).hex()  # this test's lines, apart from any other run in the database
    prompts = [f"[[reply w{n}-{token}]]" for n in range(200)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    common = ["--store", postgres, "--base-url", sim.base_url]
    env = {"ALLTOKEN_API_KEY": TEST_KEY}

    queued = run_cli("batch", str(source), "--queue", "--tools", "none", *common, env=env)
    assert queued.exit_code == 0, queued.stderr
    assert _sent(sim, token) == []

    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "alltoken_agent", "worker", *common, "--concurrency", "4"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        for _ in range(2)
    ]
    reports = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr
        reports.append(stderr)

    sent = _sent(sim, token)
    assert sorted(sent) == sorted(prompts)  # every line once: none twice, none left
    ran = [int(r.split("worker ran ")[1].split(" ")[0]) for r in reports]
    assert sum(ran) == 200

    out = tmp_path / "out.jsonl"
    collected = run_cli("batch", str(source), "-o", str(out), "--tools", "none", *common, env=env)
    assert collected.exit_code == 0, collected.stderr
    outputs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [o["text"] for o in outputs] == [f"w{n}-{token}" for n in range(200)]
    assert len(_sent(sim, token)) == 200  # collecting sent nothing


def _sent(sim: Any, token: str) -> list[str]:
    prompts = []
    for request in sim.state.requests:
        if request.path.endswith("/chat/completions") and isinstance(request.json, dict):
            content = request.json["messages"][-1]["content"]
            if isinstance(content, str) and token in content:
                prompts.append(content)
    return prompts

"""A locked store never loses a paid turn: bounded retries, then the spool, then the replay.

The lock is real: another process holds ``BEGIN EXCLUSIVE`` on the SQLite file (a
child running plain ``sqlite3``), for as long as the test says, so the store's
retries run out (``ALLTOKEN_AGENT_STORE_WAIT`` keeps that short) and the spool is used.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from alltoken_agent.errors import ConfigError
from alltoken_agent.store import Store, default_path
from alltoken_agent.store._errors import StoreBusyError, is_busy
from alltoken_agent.store.engine import STORE_WAIT_ENV
from alltoken_agent.store.usage import UsageQuery, UsageRepository, UsageRow
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY
from tests.server import conftest as server_fixtures

postgres = server_fixtures.pg_url
"""The server tests' PostgreSQL fixture (``pg_url``), reused here under this name."""

_HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold SQLite's exclusive lock on ``path`` from another process until the block ends."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "locked"
        yield
    finally:
        child.stdin.close()  # the child's readline returns: it rolls back and exits
        child.wait(timeout=60)
        child.stdout.close()


def _row(**changes: Any) -> UsageRow:
    values: dict[str, Any] = {
        "created_at": datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc),
        "kind": "chat",
        "provider": "alltoken",
        "model": "deepseek-v4-flash",
        "session": None,
        "owner": None,
        "request_id": "req_1",
        "stream": True,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "reasoning_tokens": None,
        "cached_tokens": None,
        "cost": Decimal("0.0000188000"),
        "cost_source": "gateway",
    }
    values.update(changes)
    return UsageRow(**values)


def _spool_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _all_rows(store: Store) -> list[UsageRow]:
    usage = UsageRepository.of(store)
    return [*usage.rows(UsageQuery()), *usage.rows(UsageQuery(simulated=True))]


@pytest.mark.slow
def test_a_chat_under_a_held_lock_spools_its_row_and_turn_and_the_next_open_stores_them(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    args = ["chat", "--base-url", sim.base_url, "--tools", "none", "--session", "s"]
    first = run_cli(*args, "one", env=env)
    assert first.exit_code == 0, first.stderr
    database = default_path()
    spool = database.with_name(database.name + ".spool")
    monkeypatch.setenv(STORE_WAIT_ENV, "0.2")  # the retry window, short for the test

    with locked(database):
        # A real process, so its stderr is what a person would see.
        second = subprocess.run(
            [sys.executable, "-m", "alltoken_agent", *args, "two"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, second.stderr
        said = [line for line in second.stderr.splitlines() if "spool" in line]
        assert len(said) == 1 and "replayed" in said[0] and str(spool) in said[0]
        assert stat.S_IMODE(spool.stat().st_mode) == 0o600
        lines = _spool_lines(spool)
        # The simulator reported the request's cost, so chat records its ledger row as the
        # request ends (no price lookup to wait for): the row comes before the turn.
        by_kind = {line["kind"]: line["data"] for line in lines}
        assert [line["kind"] for line in lines] == ["usage", "messages", "session_update"]
        assert by_kind["usage"]["session"] == "s" and by_kind["usage"]["outcome"] == "ok"
        assert [m["role"] for m in by_kind["messages"]["messages"]] == ["user", "assistant"]
        with Store() as store:  # reads work under the lock; the replay waits for it
            assert len(_all_rows(store)) == 1
            session = store.sessions.find_session("s")
            assert session is not None
            # The spooled turn is already part of the history a third run would send.
            assert [m["content"] for m in store.sessions.load_messages(session.id)][2] == "two"

    with Store() as store:  # the lock is gone: opening the store replays the spool
        rows = _all_rows(store)
        session = store.sessions.find_session("s")
        assert session is not None
        messages = store.sessions.load_messages(session.id)
    assert [r.session for r in rows] == ["s", "s"] and len({r.request_id for r in rows}) == 2
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["one", "two"]
    assert not spool.exists() or spool.read_text() == ""

    with Store() as store:  # and once only
        assert len(_all_rows(store)) == 2
        assert len(store.sessions.load_messages(session.id)) == 4


@pytest.mark.slow
def test_a_spool_replayed_twice_stores_each_entry_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    spool = tmp_path / "store.db.spool"
    with Store(url, wait=0.1) as store:
        session = store.sessions.create_session(name="s")
        with locked(path):
            added = UsageRepository.of(store).add(_row())
            store.sessions.append_messages(session.id, [{"role": "user", "content": "hi"}])
        assert added.id is None  # not stored yet: spooled
    kept = spool.read_text()
    assert len(kept.splitlines()) == 2

    with Store(url) as store:
        assert [r.request_id for r in _all_rows(store)] == ["req_1"]
    # A crash between the replay's commit and the emptying of the file leaves the lines.
    spool.write_text(kept)
    with Store(url) as store:
        rows = _all_rows(store)
        messages = store.sessions.load_messages(session.id)
    assert [(r.request_id, r.cost) for r in rows] == [("req_1", Decimal("0.0000188000"))]
    assert messages == [{"role": "user", "content": "hi"}]
    assert spool.read_text() == ""


def test_a_turn_after_a_spooled_one_queues_behind_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    with Store(url, wait=0.1) as store:
        session = store.sessions.create_session(name="s")
        with locked(path):
            store.sessions.append_messages(session.id, [{"role": "user", "content": "1"}])
        # The lock is gone, but turn 2 must not overtake turn 1 waiting in the spool.
        store.sessions.append_messages(session.id, [{"role": "user", "content": "2"}])
        assert [m["content"] for m in store.sessions.load_messages(session.id)] == ["1", "2"]
    with Store(url) as store:
        assert [m["content"] for m in store.sessions.load_messages(session.id)] == ["1", "2"]


@pytest.mark.slow
def test_a_store_still_locked_at_open_keeps_the_spool_for_later(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    spool = tmp_path / "store.db.spool"
    with Store(url, wait=0.1) as store, locked(path):
        UsageRepository.of(store).add(_row())
    with locked(path), Store(url, wait=0.1) as store:
        assert _all_rows(store) == []
    assert len(spool.read_text().splitlines()) == 1
    with Store(url) as store:
        assert len(_all_rows(store)) == 1


def test_without_a_spool_a_locked_write_fails_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with Store(f"sqlite:///{path}", wait=0.1) as store:
        store._db.spool = None  # an in-memory database has none; a file's is simply unused
        with locked(path), pytest.raises(StoreBusyError, match="locked"):
            UsageRepository.of(store).add(_row())


def test_a_spool_that_cannot_be_written_says_the_row_is_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    (tmp_path / "store.db.spool").mkdir()  # something that is not a writable file
    with Store(f"sqlite:///{path}", wait=0.1) as store, locked(path):
        with pytest.raises(ConfigError, match="not recorded") as caught:
            UsageRepository.of(store).add(_row())
    assert "database is locked" in str(caught.value)


class _DriverError(Exception):
    """Stands for a psycopg error: what matters is its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "busy"),
    [("40001", True), ("40P01", True), ("55P03", True), ("23505", False), ("42P01", False)],
)
def test_postgresql_lock_and_serialization_failures_count_as_busy(
    sqlstate: str, busy: bool
) -> None:
    error = sa_exc.OperationalError("INSERT ...", {}, _DriverError(sqlstate))
    assert is_busy(error) is busy


def test_a_bad_store_wait_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_WAIT_ENV, "soon")
    with pytest.raises(ConfigError, match=STORE_WAIT_ENV):
        Store("sqlite://")
    result = run_cli("usage")
    assert result.exit_code == 2 and STORE_WAIT_ENV in result.stderr


def test_the_spool_table_exists_after_migrating(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert "m007_spool_replayed" in store.applied_migrations()
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            assert sa.inspect(engine).has_table("spool_replayed")
        finally:
            engine.dispose()


@pytest.mark.slow
def test_a_postgresql_row_lock_held_past_the_wait_spools_the_row_and_the_next_open_stores_it(
    postgres: str,
) -> None:
    import psycopg

    pg_url = postgres
    request_id = f"req_pg_{uuid.uuid4().hex}"
    with Store(pg_url, wait=0.3) as store:
        locker = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"))
        try:
            locker.execute("LOCK TABLE usage IN ACCESS EXCLUSIVE MODE")  # held until rollback
            added = UsageRepository.of(store).add(_row(request_id=request_id))
        finally:
            locker.rollback()
            locker.close()
        assert added.id is None  # spooled: lock_timeout ran out on every retry
        spool = store._db.spool
        assert spool is not None and [e.kind for e in spool.entries()] == ["usage"]
    with Store(pg_url) as store:
        rows = [r for r in _all_rows(store) if r.request_id == request_id]
        assert len(rows) == 1
        assert spool.entries() == []

"""Migrations: applied once, recorded by name, append-only, and safe under concurrency."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alltoken_agent.store import MIGRATIONS, Store, schema
from alltoken_agent.store.engine import Database
from alltoken_agent.store.migrations import applied_migrations, migrate

NAMES = [name for name, _ in MIGRATIONS]


def _records(raw: sqlite3.Connection) -> list[tuple[str, str]]:
    return raw.execute("SELECT name, applied_at FROM schema_migrations ORDER BY name").fetchall()


def test_the_first_migrations_are_sessions_then_messages() -> None:
    assert NAMES[:2] == ["m001_sessions", "m002_messages"]
    assert all(re.fullmatch(r"m\d{3}_[a-z0-9_]+", name) for name in NAMES)
    assert NAMES == sorted(NAMES)
    assert len(set(NAMES)) == len(NAMES)


def test_opening_a_fresh_file_applies_and_records_every_migration(
    store: Store, raw: sqlite3.Connection
) -> None:
    assert store.applied_migrations() == NAMES
    assert [name for name, _ in _records(raw)] == sorted(NAMES)
    tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_migrations", "sessions", "messages"} <= tables


def test_reopening_runs_nothing_and_keeps_the_records(
    store: Store, db_url: str, raw: sqlite3.Connection
) -> None:
    before = _records(raw)
    with Store(db_url) as again:
        assert again.migrate() == []
        assert again.applied_migrations() == NAMES
    assert store.migrate() == []
    assert _records(raw) == before


def test_a_migration_appended_later_runs_once_on_the_next_open(store: Store, db_url: str) -> None:
    calls: list[str] = []

    def m900_probe(conn: Connection) -> None:
        calls.append("ran")
        conn.exec_driver_sql("CREATE TABLE probe (id INTEGER PRIMARY KEY)")

    extended = [*MIGRATIONS, ("m900_probe", m900_probe)]
    db = Database(db_url)
    try:
        assert migrate(db, extended) == ["m900_probe"]
        assert migrate(db, extended) == []
        assert calls == ["ran"]
        assert applied_migrations(db) == [*NAMES, "m900_probe"]
    finally:
        db.close()


def test_a_failing_migration_leaves_neither_its_changes_nor_a_record(
    store: Store, db_url: str, raw: sqlite3.Connection
) -> None:
    def m900_broken(conn: Connection) -> None:
        conn.exec_driver_sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        raise RuntimeError("boom")

    db = Database(db_url)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            migrate(db, [*MIGRATIONS, ("m900_broken", m900_broken)])
        assert applied_migrations(db) == NAMES
    finally:
        db.close()
    # DDL is transactional: the CREATE TABLE went with the rollback.
    assert raw.execute("SELECT name FROM sqlite_master WHERE name='half_done'").fetchall() == []


def test_the_schema_module_matches_the_migrated_tables(store: Store, db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        for table in schema.metadata.tables.values():
            reflected = [column["name"] for column in inspector.get_columns(table.name)]
            assert reflected == list(table.columns.keys()), table.name
        session_indexes = {index["name"] for index in inspector.get_indexes("sessions")}
        assert "uq_sessions_local_name" in session_indexes
        message_indexes = {i["name"]: i for i in inspector.get_indexes("messages")}
        position_index = message_indexes["ux_messages_session_position"]
        assert position_index["column_names"] == ["session_id", "position"]
        assert position_index["unique"]
        (foreign_key,) = inspector.get_foreign_keys("messages")
        assert foreign_key["referred_table"] == "sessions"
        assert foreign_key["options"].get("ondelete") == "CASCADE"
    finally:
        engine.dispose()


@pytest.mark.slow
def test_stores_opening_one_fresh_file_at_once_all_work(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    count = 8
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    ids: list[str] = []

    def open_and_write(index: int) -> None:
        try:
            barrier.wait()
            with Store(url) as store:
                ids.append(store.sessions.create_session(name=f"worker-{index}").id)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(ids)) == count
    with Store(url) as store:
        assert store.applied_migrations() == NAMES
        assert len(store.sessions.list_sessions()) == count
    raw = sqlite3.connect(tmp_path / "shared.db")
    try:
        assert raw.execute("SELECT count(*) FROM schema_migrations").fetchone() == (len(NAMES),)
    finally:
        raw.close()


_PROCESS = """
import sys
from alltoken_agent.store import Store
with Store(sys.argv[1]) as store:
    shared, _ = store.sessions.get_or_create_session("shared")
    store.sessions.append_messages(shared.id, [{"role": "user", "content": sys.argv[2]}])
"""


@pytest.mark.slow
def test_processes_opening_one_fresh_file_at_once_all_work(tmp_path: Path) -> None:
    """Separate processes, as a CLI and a server would be: file locks, not one engine."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, url, f"from {index}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(3)
    ]
    failures = [p.stderr.read() for p in processes if p.wait(60) != 0 and p.stderr]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    assert failures == []
    with Store(url) as store:
        assert store.applied_migrations() == NAMES
        shared = store.sessions.find_session("shared")
        assert shared is not None
        contents = sorted(m["content"] for m in store.sessions.load_messages(shared.id))
        assert contents == ["from 0", "from 1", "from 2"]

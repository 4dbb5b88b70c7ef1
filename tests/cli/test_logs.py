"""`alltoken-agent logs`: every stored prompt and reply, searchable with SQLite FTS5."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.store import Store
from alltoken_agent.store.engine import Database
from alltoken_agent.store.migrations import MIGRATIONS, migrate
from alltoken_agent.store.sessions import SessionRepository
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}


def _chat(sim: Any, *args: str) -> None:
    result = run_cli("chat", "--base-url", sim.base_url, *args, env=ENV)
    assert result.exit_code == 0, result.stderr


@pytest.mark.slow
def test_query_finds_prompts_and_replies_across_sessions(sim: Any) -> None:
    _chat(sim, "--session", "geo", "What is the capital of France?")
    _chat(sim, "--session", "cook", "How long do I boil an egg?")
    found = run_cli("logs", "-q", "capital France?", "--json")
    assert found.exit_code == 0, found.stderr
    items = json.loads(found.stdout)
    assert items and {item["session"] for item in items} == {"geo"}
    assert {item["role"] for item in items} == {"user", "assistant"}  # the reply echoes it
    plain = run_cli("logs", "-q", "egg")
    assert plain.exit_code == 0
    assert "cook  user: How long do I boil an egg?" in plain.stdout
    assert "capital" not in plain.stdout
    none = run_cli("logs", "-q", "zebra")
    assert none.exit_code == 0 and none.stdout.strip() == "no messages found"


@pytest.mark.slow
def test_session_and_count_narrow_the_list(sim: Any) -> None:
    _chat(sim, "--session", "a", "alpha one")
    _chat(sim, "--session", "b", "alpha two")
    only_b = json.loads(run_cli("logs", "-q", "alpha", "--session", "b", "--json").stdout)
    assert only_b and {item["session"] for item in only_b} == {"b"}
    newest = json.loads(run_cli("logs", "-n", "1", "--json").stdout)
    assert len(newest) == 1 and newest[0]["session"] == "b" and newest[0]["role"] == "assistant"
    missing = run_cli("logs", "--session", "nope")
    assert missing.exit_code == 2 and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_query_syntax_is_text_not_an_fts_error(sim: Any) -> None:
    _chat(sim, "--session", "s", 'say "AND" NEAR( me')
    result = run_cli("logs", "-q", '"AND" NEAR(', "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)


@pytest.mark.slow
def test_deleted_and_rewritten_messages_leave_the_index(sim: Any) -> None:
    _chat(sim, "--session", "gone", "remember the pineapple")
    assert json.loads(run_cli("logs", "-q", "pineapple", "--json").stdout)
    assert run_cli("sessions", "rm", "gone", "--yes").exit_code == 0
    assert json.loads(run_cli("logs", "-q", "pineapple", "--json").stdout) == []
    with Store() as store:
        record, _ = store.sessions.get_or_create_session("kept")
        store.sessions.append_messages(record.id, [{"role": "user", "content": "mango"}])
        store.sessions.replace_messages(record.id, [{"role": "user", "content": "kiwi"}])
    assert json.loads(run_cli("logs", "-q", "mango", "--json").stdout) == []
    assert json.loads(run_cli("logs", "-q", "kiwi", "--json").stdout)[0]["text"] == "kiwi"


def test_the_migration_indexes_messages_stored_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    migrate(db, [entry for entry in MIGRATIONS if entry[0] < "m010"])
    old = SessionRepository(db)
    record = old.create_session(name="before")
    parts = [{"type": "text", "text": "an ancient walrus"}]
    old.append_messages(record.id, [{"role": "user", "content": parts}])
    old.append_messages(record.id, [{"role": "tool", "content": "walrus tool output"}])
    db.close()
    with Store(url) as store:
        assert "m010_messages_fts" in store.applied_migrations()
        from alltoken_agent.store.search import search_messages

        found = search_messages(store, "walrus")
    assert [(f.session_name, f.role, f.text) for f in found] == [
        ("before", "user", "an ancient walrus")
    ]


@pytest.mark.slow
def test_without_fts5_the_search_falls_back_to_like(sim: Any) -> None:
    _chat(sim, "--session", "plain", "The Walrus sings")
    with Store() as store:
        path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:  # a SQLite built without FTS5 never made the table
        for trigger in ("insert", "update", "delete"):
            raw.execute(f"DROP TRIGGER messages_fts_{trigger}")
        raw.execute("DROP TABLE messages_fts")
    found = json.loads(run_cli("logs", "-q", "walrus SINGS", "--json").stdout)
    assert [item["role"] for item in found] == ["assistant", "user"]  # newest first
    assert json.loads(run_cli("logs", "-q", "walrus%", "--json").stdout) == []

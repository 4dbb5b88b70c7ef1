"""`chat --session` over a long stored session: only the part that can fit is read."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.agent.context import fit_messages
from alltoken_agent.store import Store
from tests.cli.helpers import ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY

pytestmark = pytest.mark.slow

MODEL = "minimax-m2.7"
TURNS = 600  # 1,200 stored messages: past the CLI's LONG_SESSION


def seed(turns: int) -> tuple[str, list[dict[str, Any]]]:
    """A session named "long" with ``turns`` turns, stored the way chat stores them."""
    history: list[dict[str, Any]] = []
    for i in range(turns):
        history.append({"role": "user", "content": f"question {i}: " + "word " * 30})
        history.append({"role": "assistant", "content": f"answer {i}: " + "word " * 30})
    with Store() as store:
        record = store.sessions.create_session(name="long")
        store.sessions.append_messages(record.id, history)
        path = store.url.removeprefix("sqlite:///")
    return path, history


def test_a_long_session_sends_what_the_whole_history_would_and_reads_only_that(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, f'[context]\nlengths = {{ "{MODEL}" = 3000 }}\n')
    path, history = seed(TURNS)
    # The oldest stored turn cannot fit a 3,000-token context: a chat that read it
    # anyway would trip over this row instead of answering.
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE messages SET message = 'not json {' WHERE position = 0")
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    args = ["chat", "--base-url", sim.base_url, "-m", MODEL, "--tools", "none"]
    result = run_cli(*args, "--session", "long", "--json", "and now?", env=env)
    assert result.exit_code == 0, result.stderr
    trimmed = [e for e in ndjson(result.stdout) if e["event"] == "context:trimmed"]
    assert trimmed and trimmed[0]["limit"] == 3000
    body = [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1].json
    # Exactly what trimming the whole history would have sent.
    whole = [body["messages"][0], *history, {"role": "user", "content": "and now?"}]
    fields = {key: body[key] for key in ("tools", "max_tokens") if key in body}
    assert body["messages"] == fit_messages(whole, fields, limit=3000, policy="trim").messages
    assert body["messages"][1]["role"] == "user" and len(body["messages"]) < 100
    # Nothing stored was lost or rewritten: the new turn is appended after all of it.
    with sqlite3.connect(path) as raw:
        (count,) = raw.execute("SELECT count(*) FROM messages").fetchone()
        (first,) = raw.execute("SELECT message FROM messages WHERE position = 0").fetchone()
    assert count == 2 * TURNS + 2 and first == "not json {"

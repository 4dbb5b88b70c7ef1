"""The MCP ``chat`` tool on a long named session: only the part that can fit is read.

Through the official SDK's stdio client, against ``mcp --offline``. The oldest stored
row is made unreadable: a server that read the whole history (as every call did)
would fail on it instead of answering. The count it reports and what stays stored
are the whole session's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alltoken_agent.store import Store
from tests.cli.helpers import write_config
from tests.mcp.expectations import text_of
from tests.mcp.test_stdio import stdio_session

pytestmark = pytest.mark.slow

TURNS = 600  # 1,200 stored messages: past LONG_SESSION


async def test_a_long_session_answers_from_what_fits_and_keeps_every_turn(
    isolated_environment: Path,
) -> None:
    write_config(isolated_environment, '[context]\nlengths = { "minimax-m2.7" = 3000 }\n')
    history = []
    for i in range(TURNS):
        history.append({"role": "user", "content": f"question {i}: " + "word " * 30})
        history.append({"role": "assistant", "content": f"answer {i}: " + "word " * 30})
    with Store() as store:
        record, _ = store.sessions.get_or_create_session("long")
        store.sessions.append_messages(record.id, history)
        path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE messages SET message = 'not json {' WHERE position = 0")
    async with stdio_session(isolated_environment) as session:
        result = await session.call_tool("chat", {"prompt": "and now?", "session": "long"})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["session_messages"] == 2 * TURNS + 2
    with sqlite3.connect(path) as raw:
        (count,) = raw.execute("SELECT count(*) FROM messages").fetchone()
        (first,) = raw.execute("SELECT message FROM messages WHERE position = 0").fetchone()
    assert count == 2 * TURNS + 2 and first == "not json {"


async def test_a_failure_none_of_ours_is_a_structured_internal_error(
    isolated_environment: Path,
) -> None:
    # A stored row nobody can read, within what a turn reads: the tool cannot answer.
    with Store() as store:
        record, _ = store.sessions.get_or_create_session("damaged")
        store.sessions.append_messages(record.id, [{"role": "user", "content": "hi"}])
        path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE messages SET message = 'not json {'")
    async with stdio_session(isolated_environment) as session:
        result = await session.call_tool("chat", {"prompt": "and now?", "session": "damaged"})
        still = await session.call_tool("chat", {"prompt": "hello"})  # the server goes on
    assert result.is_error and result.structured_content is not None
    error = result.structured_content["error"]
    assert error["code"] == "internal_error" and error["type"] == "server_error"
    assert "not json" not in text_of(result)  # its text goes to the log, not to the caller
    assert not still.is_error
    log = (isolated_environment / "server-stderr.log").read_text(encoding="utf-8")
    assert "the chat tool failed" in log and "Traceback" not in log

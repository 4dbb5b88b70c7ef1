"""A message to a long stored session: the server reads only the part that can fit.

The oldest stored row is made unreadable: a server that read the whole history (as it
did, decoding, copying and counting every message on each one) would fail on it
instead of answering. What goes to the gateway is what trimming the whole history
would have sent, and nothing stored is lost: the new turn comes after all of it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Config, Gateway
from alltoken_agent.agent.context import fit_messages
from alltoken_agent.config import ContextSettings
from alltoken_agent.server import ServerOptions, create_app
from alltoken_agent.store import Store
from tests.server.conftest import GATEWAY_KEY, ServerThread, create_session

pytestmark = pytest.mark.slow

MODEL = "minimax-m2.7"
TURNS = 600  # 1,200 stored messages: past LONG_SESSION
WINDOW = 3000


def test_a_long_session_is_answered_from_what_fits_and_keeps_everything(
    sim: Any, tmp_path: Path
) -> None:
    path = tmp_path / "server.db"
    gateway = Gateway("alltoken", base_url=sim.base_url, api_key=GATEWAY_KEY)
    config = Config(context=ContextSettings(lengths={MODEL: WINDOW}))
    store = Store(f"sqlite:///{path}")
    server = ServerThread(
        create_app(gateway, store, options=ServerOptions(), config=config), gateway, store
    )
    history: list[dict[str, Any]] = []
    for i in range(TURNS):
        history.append({"role": "user", "content": f"question {i}: " + "word " * 30})
        history.append({"role": "assistant", "content": f"answer {i}: " + "word " * 30})
    try:
        with server.client(None) as client:
            session_id = create_session(client, model=MODEL, tools=[])
            store.sessions.append_messages(session_id, history)
            with sqlite3.connect(path) as raw:
                raw.execute("UPDATE messages SET message = 'not json {' WHERE position = 0")
            reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "and now?"})
    finally:
        server.stop()
    assert reply.status_code == 200, reply.text
    body = [r for r in sim.state.requests if r.path.endswith("/chat/completions")][-1].json
    whole = [body["messages"][0], *history, {"role": "user", "content": "and now?"}]
    fields = {key: body[key] for key in ("tools", "max_tokens") if key in body}
    assert body["messages"] == fit_messages(whole, fields, limit=WINDOW, policy="trim").messages
    assert body["messages"][1]["role"] == "user" and len(body["messages"]) < 100
    with sqlite3.connect(path) as raw:
        (count,) = raw.execute("SELECT count(*) FROM messages").fetchone()
        (first,) = raw.execute("SELECT message FROM messages WHERE position = 0").fetchone()
    assert count == 2 * TURNS + 2 and first == "not json {"

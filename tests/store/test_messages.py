"""Messages: exact JSON round trips, positions, atomic appends and replacements."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest

from alltoken_agent.errors import UserError
from alltoken_agent.store import SessionRecord, Store

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Réponds en français. 答えて. 🙂"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this image?"},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": -3.5, "ok": true}'},
    {"role": "assistant", "content": "It is −3.5 °C ❄", "refusal": None, "extra": {"n": [1, 2.5]}},
]


@pytest.fixture
def session(store: Store) -> SessionRecord:
    return store.sessions.create_session(name="chat")


def _positions(raw: sqlite3.Connection, session_id: str) -> list[int]:
    rows = raw.execute(
        "SELECT position FROM messages WHERE session_id = ? ORDER BY position", (session_id,)
    )
    return [row[0] for row in rows]


def test_messages_round_trip_exactly(store: Store, session: SessionRecord) -> None:
    store.sessions.append_messages(session.id, CONVERSATION)
    assert store.sessions.load_messages(session.id) == CONVERSATION
    record = store.sessions.get_session(session.id)
    assert record is not None and record.message_count == len(CONVERSATION)


def test_unicode_is_stored_readably_not_escaped(
    store: Store, session: SessionRecord, raw: sqlite3.Connection
) -> None:
    store.sessions.append_messages(session.id, [{"role": "user", "content": "☃ 雪"}])
    (text,) = raw.execute("SELECT message FROM messages").fetchone()
    assert "☃ 雪" in text


def test_positions_continue_across_appends(
    store: Store, session: SessionRecord, raw: sqlite3.Connection
) -> None:
    store.sessions.append_messages(session.id, CONVERSATION[:2])
    store.sessions.append_messages(session.id, CONVERSATION[2:3])
    store.sessions.append_messages(session.id, CONVERSATION[3:])
    assert _positions(raw, session.id) == list(range(len(CONVERSATION)))
    assert store.sessions.load_messages(session.id) == CONVERSATION


def test_append_bumps_updated_at(store: Store, session: SessionRecord) -> None:
    store.sessions.append_messages(session.id, CONVERSATION[:1])
    after = store.sessions.get_session(session.id)
    assert after is not None and after.updated_at > session.updated_at
    assert after.created_at == session.created_at


@pytest.mark.parametrize("bad_value", [object(), float("nan"), {1, 2}])
def test_a_failing_append_leaves_nothing_behind(
    store: Store, session: SessionRecord, raw: sqlite3.Connection, bad_value: object
) -> None:
    store.sessions.append_messages(session.id, CONVERSATION[:1])
    before = store.sessions.get_session(session.id)

    batch = [CONVERSATION[1], CONVERSATION[2], {"role": "user", "content": bad_value}]
    with pytest.raises(UserError, match="JSON"):
        store.sessions.append_messages(session.id, batch)

    assert store.sessions.load_messages(session.id) == CONVERSATION[:1]
    assert store.sessions.get_session(session.id) == before
    store.sessions.append_messages(session.id, CONVERSATION[1:2])
    assert _positions(raw, session.id) == [0, 1]


@pytest.mark.parametrize("bad", [["not a dict"], {"role": "user"}, "hello"])
def test_messages_that_are_not_a_list_of_dicts_are_refused(
    store: Store, session: SessionRecord, bad: Any
) -> None:
    with pytest.raises(UserError, match="must be"):
        store.sessions.append_messages(session.id, bad)
    assert store.sessions.load_messages(session.id) == []


def test_an_unknown_session_id_is_a_user_error(store: Store) -> None:
    with pytest.raises(UserError, match="ses_nope"):
        store.sessions.append_messages("ses_nope", CONVERSATION[:1])
    with pytest.raises(UserError, match="ses_nope"):
        store.sessions.append_messages("ses_nope", [])
    with pytest.raises(UserError, match="ses_nope"):
        store.sessions.load_messages("ses_nope")
    with pytest.raises(UserError, match="ses_nope"):
        store.sessions.replace_messages("ses_nope", [])


def test_an_empty_append_changes_nothing(store: Store, session: SessionRecord) -> None:
    store.sessions.append_messages(session.id, [])
    assert store.sessions.get_session(session.id) == session


def test_replace_swaps_the_history_and_restarts_positions(
    store: Store, session: SessionRecord, raw: sqlite3.Connection
) -> None:
    store.sessions.append_messages(session.id, CONVERSATION)
    trimmed = [CONVERSATION[0], CONVERSATION[-1]]
    store.sessions.replace_messages(session.id, trimmed)
    assert store.sessions.load_messages(session.id) == trimmed
    assert _positions(raw, session.id) == [0, 1]

    store.sessions.replace_messages(session.id, [])
    assert store.sessions.load_messages(session.id) == []
    record = store.sessions.get_session(session.id)
    assert record is not None and record.message_count == 0
    assert record.updated_at > session.updated_at


def test_a_failing_replace_keeps_the_old_history(store: Store, session: SessionRecord) -> None:
    store.sessions.append_messages(session.id, CONVERSATION)
    with pytest.raises(UserError, match="JSON"):
        store.sessions.replace_messages(session.id, [{"role": "user", "content": object()}])
    assert store.sessions.load_messages(session.id) == CONVERSATION


def test_concurrent_appends_get_distinct_consecutive_positions(
    store: Store, session: SessionRecord, raw: sqlite3.Connection
) -> None:
    count = 6
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            messages = [{"role": "user", "content": f"{index}-{part}"} for part in range(2)]
            store.sessions.append_messages(session.id, messages)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _positions(raw, session.id) == list(range(2 * count))
    loaded = [m["content"] for m in store.sessions.load_messages(session.id)]
    for index in range(count):  # each append stayed in one piece, in order
        first = loaded.index(f"{index}-0")
        assert loaded[first + 1] == f"{index}-1"

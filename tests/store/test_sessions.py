"""Sessions: creation, lookup, owners, unique names, races, listing, updates, deletion."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import timezone

import pytest

from alltoken_agent.errors import UserError
from alltoken_agent.store import SessionRecord, Store


def test_create_then_get_round_trips_every_field(store: Store) -> None:
    created = store.sessions.create_session(
        name="research",
        owner="key_1",
        model="gpt-4o-mini",
        instructions="Be brief. ✓",
        metadata={"tags": ["a", "b"], "temperature": 0.2, "nested": {"ok": True}},
    )
    assert re.fullmatch(r"ses_[0-9a-f]{16}", created.id)
    assert created.created_at.tzinfo is timezone.utc
    assert created.updated_at == created.created_at

    fetched = store.sessions.get_session(created.id, owner="key_1")
    assert fetched == created
    assert fetched == SessionRecord(
        id=created.id,
        name="research",
        owner="key_1",
        model="gpt-4o-mini",
        instructions="Be brief. ✓",
        metadata={"tags": ["a", "b"], "temperature": 0.2, "nested": {"ok": True}},
        created_at=created.created_at,
        updated_at=created.created_at,
        message_count=0,
    )


def test_records_are_frozen(store: Store) -> None:
    record = store.sessions.create_session()
    with pytest.raises(AttributeError):
        record.name = "other"  # type: ignore[misc]


def test_unnamed_sessions_do_not_clash_and_get_distinct_ids(store: Store) -> None:
    first = store.sessions.create_session()
    second = store.sessions.create_session()
    assert first.id != second.id
    assert first.name is None and first.metadata == {}
    assert {s.id for s in store.sessions.list_sessions()} == {first.id, second.id}


@pytest.mark.parametrize("owner", [None, "key_1"])
def test_a_duplicate_name_for_the_same_owner_is_refused(store: Store, owner: str | None) -> None:
    store.sessions.create_session(name="daily", owner=owner)
    with pytest.raises(UserError, match=r"'daily' already exists"):
        store.sessions.create_session(name="daily", owner=owner)
    assert len(store.sessions.list_sessions(owner=owner)) == 1


def test_the_same_name_is_free_for_each_owner(store: Store) -> None:
    local = store.sessions.create_session(name="daily")
    mine = store.sessions.create_session(name="daily", owner="key_1")
    theirs = store.sessions.create_session(name="daily", owner="key_2")
    assert store.sessions.find_session("daily") == local
    assert store.sessions.find_session("daily", owner="key_1") == mine
    assert store.sessions.find_session("daily", owner="key_2") == theirs
    assert store.sessions.find_session("weekly") is None


def test_the_database_itself_refuses_duplicate_local_names(
    store: Store, raw: sqlite3.Connection
) -> None:
    """Bypasses the repository's own check to pin the partial unique index (NULL owner)."""
    insert = (
        "INSERT INTO sessions (id, name, owner, metadata, created_at, updated_at) "
        "VALUES (?, 'dup', NULL, '{}', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
    )
    raw.execute(insert, ("ses_a",))
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute(insert, ("ses_b",))


@pytest.mark.parametrize("bad", ["", "   ", "x" * 256])
def test_blank_or_overlong_names_are_refused(store: Store, bad: str) -> None:
    with pytest.raises(UserError, match="session name"):
        store.sessions.create_session(name=bad)


def test_another_owners_session_is_invisible_and_cannot_be_deleted(store: Store) -> None:
    theirs = store.sessions.create_session(name="secret", owner="key_2")
    assert store.sessions.get_session(theirs.id, owner="key_1") is None
    assert store.sessions.get_session(theirs.id) is None  # local use sees only local sessions
    assert store.sessions.find_session("secret", owner="key_1") is None
    assert store.sessions.list_sessions(owner="key_1") == []
    assert store.sessions.delete_session(theirs.id, owner="key_1") is False
    assert store.sessions.delete_session(theirs.id) is False
    assert store.sessions.get_session(theirs.id, owner="key_2") == theirs


def test_get_or_create_creates_once_then_returns_the_same_session(store: Store) -> None:
    created, was_created = store.sessions.get_or_create_session(
        "chat", model="m1", instructions="hi"
    )
    again, created_again = store.sessions.get_or_create_session("chat", model="other")
    assert (was_created, created_again) == (True, False)
    assert again == created
    assert (again.model, again.instructions) == ("m1", "hi")


def test_get_or_create_from_many_threads_yields_one_session(store: Store) -> None:
    count = 8
    barrier = threading.Barrier(count)
    results: list[tuple[SessionRecord, bool]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(store.sessions.get_or_create_session("shared", owner="key_1"))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len({record.id for record, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(store.sessions.list_sessions(owner="key_1")) == 1


def test_list_sessions_is_most_recently_updated_first_and_limited(store: Store) -> None:
    first = store.sessions.create_session(name="first")
    second = store.sessions.create_session(name="second")
    third = store.sessions.create_session(name="third")
    assert [s.id for s in store.sessions.list_sessions()] == [third.id, second.id, first.id]
    store.sessions.append_messages(first.id, [{"role": "user", "content": "back again"}])
    listed = store.sessions.list_sessions()
    assert [s.id for s in listed] == [first.id, third.id, second.id]
    assert listed[0].message_count == 1
    assert [s.id for s in store.sessions.list_sessions(limit=2)] == [first.id, third.id]


@pytest.mark.parametrize("limit", [0, -1])
def test_list_sessions_refuses_a_limit_below_one(store: Store, limit: int) -> None:
    with pytest.raises(UserError, match="limit"):
        store.sessions.list_sessions(limit=limit)


def test_delete_removes_the_session_and_cascades_to_its_messages(
    store: Store, raw: sqlite3.Connection
) -> None:
    doomed = store.sessions.create_session(name="doomed")
    kept = store.sessions.create_session(name="kept")
    store.sessions.append_messages(doomed.id, [{"role": "user", "content": "x"}] * 3)
    store.sessions.append_messages(kept.id, [{"role": "user", "content": "y"}])

    assert store.sessions.delete_session(doomed.id) is True
    assert store.sessions.delete_session(doomed.id) is False
    assert store.sessions.get_session(doomed.id) is None
    count = "SELECT count(*) FROM messages WHERE session_id = ?"
    assert raw.execute(count, (doomed.id,)).fetchone() == (0,)
    assert raw.execute(count, (kept.id,)).fetchone() == (1,)


def test_update_changes_only_the_given_fields(store: Store) -> None:
    record = store.sessions.create_session(
        name="s", model="m1", instructions="old", metadata={"a": 1}
    )
    updated = store.sessions.update_session(record.id, model="m2")
    assert (updated.model, updated.instructions, updated.metadata) == ("m2", "old", {"a": 1})
    assert updated.updated_at > record.updated_at

    cleared = store.sessions.update_session(record.id, instructions=None, metadata={"b": 2})
    assert (cleared.model, cleared.instructions, cleared.metadata) == ("m2", None, {"b": 2})
    assert store.sessions.get_session(record.id) == cleared

    unchanged = store.sessions.update_session(record.id)
    assert unchanged == cleared


def test_update_of_an_unknown_session_is_a_user_error(store: Store) -> None:
    with pytest.raises(UserError, match="ses_missing"):
        store.sessions.update_session("ses_missing", model="m")

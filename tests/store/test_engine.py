"""Opening a store: the default file, SQLite settings, and errors that name the URL safely."""

from __future__ import annotations

import sqlite3
import threading
import traceback
from pathlib import Path

import pytest

from alltoken_agent.errors import ConfigError, UserError
from alltoken_agent.store import DEFAULT_FILENAME, Store, default_path

SECRET = "s3cret-pa55"


def _full_text(error: BaseException) -> str:
    """The message, the repr and the whole printed traceback, cause chain included."""
    return f"{error}\n{error!r}\n{''.join(traceback.format_exception(error))}"


def test_no_url_means_the_file_in_the_data_folder_under_home(isolated_environment: Path) -> None:
    expected = isolated_environment / "data" / DEFAULT_FILENAME
    assert default_path() == expected
    assert not expected.parent.exists()
    with Store() as store:
        assert store.url == f"sqlite:///{expected}"
        assert store.dialect == "sqlite"
        store.sessions.create_session(name="here")
    assert expected.is_file()
    with Store() as store:
        assert store.sessions.find_session("here") is not None


def test_a_data_folder_that_cannot_be_created_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ALLTOKEN_AGENT_HOME", str(blocker / "home"))
    with pytest.raises(ConfigError, match="ALLTOKEN_AGENT_HOME") as caught:
        Store()
    assert str(blocker) in str(caught.value)


def test_the_sqlite_file_uses_wal_journaling(store: Store, db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_a_writer_waits_for_another_processs_lock(store: Store, db_path: Path) -> None:
    session = store.sessions.create_session()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    done = threading.Event()
    errors: list[BaseException] = []

    def append() -> None:
        try:
            store.sessions.append_messages(session.id, [{"role": "user", "content": "waited"}])
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)
        done.set()

    thread = threading.Thread(target=append)
    thread.start()
    try:
        assert not done.wait(0.3), "the write should wait for the lock, not fail or skip it"
    finally:
        other.execute("COMMIT")
        other.close()
    thread.join(5)
    assert errors == []
    assert store.sessions.load_messages(session.id) == [{"role": "user", "content": "waited"}]


@pytest.mark.slow
def test_a_lock_held_past_the_busy_timeout_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}?timeout=0.05"
    with Store(url) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            # A write with nothing paid in it (turns and ledger rows go to the spool).
            with pytest.raises(ConfigError, match="locked") as caught:
                store.sessions.create_session(name="x")
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert str(path) in str(caught.value)


def test_a_path_that_cannot_be_opened_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker}/store.db"
    with pytest.raises(ConfigError, match="unable to open database file") as caught:
        Store(url)
    assert url in str(caught.value)
    assert "writ" in str(caught.value)  # the next step: a folder this user may write to


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"definitely not sqlite " * 300)
    with pytest.raises(ConfigError, match="not a database") as caught:
        Store(f"sqlite:///{path}")
    assert "move it aside" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql://alice:{SECRET}@127.0.0.1:1/agents", "postgresql://alice:***@127.0.0.1:1"),
        (f"nosuchdb://alice:{SECRET}@127.0.0.1/agents", "nosuchdb://alice:***@127.0.0.1"),
        (f"not a url, but has {SECRET}", "invalid database URL"),
    ],
)
def test_bad_urls_are_config_errors_that_never_show_the_password(url: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Store(url)
    assert expected in str(caught.value)
    assert SECRET not in _full_text(caught.value)


def test_the_url_and_repr_never_show_a_password(tmp_path: Path) -> None:
    from sqlalchemy import make_url

    from alltoken_agent.store.engine import mask_url

    assert mask_url(make_url(f"postgresql://bob:{SECRET}@db.example/agents")) == (
        "postgresql://bob:***@db.example/agents"
    )
    with Store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        assert repr(store) == f"Store(url='sqlite:///{tmp_path / 'r.db'}')"
    assert repr(store).endswith(", closed)")


def test_a_closed_store_refuses_further_use(store: Store) -> None:
    session = store.sessions.create_session()
    store.close()
    assert store.closed
    with pytest.raises(UserError, match="closed"):
        store.sessions.get_session(session.id)


def test_an_in_memory_store_is_one_database_for_every_thread() -> None:
    with Store("sqlite://") as store:
        created: list[str] = []
        thread = threading.Thread(
            target=lambda: created.append(store.sessions.create_session(name="mem").id)
        )
        thread.start()
        thread.join()
        found = store.sessions.find_session("mem")
        assert found is not None and [found.id] == created


def test_opening_an_up_to_date_database_does_not_take_the_write_lock(
    store: Store, db_path: Path
) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a writer elsewhere, e.g. a server mid-request
    try:
        # With a near-zero busy timeout, taking the write lock would fail at once.
        with Store(f"sqlite:///{db_path}?timeout=0.01") as again:
            assert again.migrate() == []
            assert again.sessions.list_sessions() == []
    finally:
        other.execute("ROLLBACK")
        other.close()

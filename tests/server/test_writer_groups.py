"""The writer thread runs the turn writes queued together in one transaction.

``WriterThread`` with a real SQLite store; what was committed is read through a plain
``sqlite3`` connection. A job that waits on an event holds the thread, so the jobs
after it queue up and run as one group when it is released.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.server._writer import GROUP_MAX, WriterThread
from alltoken_agent.store import Store
from tests.server.conftest import WRITER_WAIT as WAIT
from tests.server.conftest import hold_writer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'writer.db'}") as opened:
        yield opened


@pytest.fixture
def raw(store: Store, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    # Read from the writer thread too: what another connection sees at that moment.
    connection = sqlite3.connect(tmp_path / "writer.db", check_same_thread=False)
    yield connection
    connection.close()


def _names(raw: sqlite3.Connection) -> list[str]:
    return sorted(name for (name,) in raw.execute("SELECT name FROM sessions"))


def _queued_behind_a_held_thread(
    writer: WriterThread, jobs: list[Callable[[], Any]], *, later: bool = False
) -> list[Future[Any]]:
    """Submit ``jobs`` (as groupable) while the thread is busy, then let it go."""
    release = hold_writer(writer)
    futures = [writer.submit(job, later=later, group=True) for job in jobs]
    release.set()
    return futures


def test_writes_queued_together_are_committed_in_one_transaction(
    store: Store, raw: sqlite3.Connection
) -> None:
    writer = WriterThread("test-writer", store.joined_writes)
    seen: list[list[str]] = []

    def create(name: str) -> Callable[[], str]:
        def job() -> str:
            seen.append(_names(raw))  # what another connection sees before this write
            return store.sessions.create_session(name=name).id

        return job

    try:
        futures = _queued_behind_a_held_thread(writer, [create(f"s{i}") for i in range(5)])
        ids = [future.result(WAIT) for future in futures]
    finally:
        writer.shutdown()
    assert len(set(ids)) == 5
    assert seen == [[]] * 5  # none of the group's writes was visible before its commit
    assert _names(raw) == [f"s{i}" for i in range(5)]


def test_a_job_gets_its_result_only_once_the_group_is_committed(store: Store) -> None:
    writer = WriterThread("test-writer", store.joined_writes)
    first: list[Future[Any]] = []

    def later_job() -> bool:
        return first[0].done()

    try:
        futures = _queued_behind_a_held_thread(
            writer, [lambda: store.sessions.create_session(name="a").id, later_job]
        )
        first.append(futures[0])
        assert futures[1].result(WAIT) is False  # the first was not answered mid-group
        assert futures[0].result(WAIT)
    finally:
        writer.shutdown()


def test_a_failing_job_rolls_its_group_back_and_every_job_runs_again_alone(
    store: Store, raw: sqlite3.Connection
) -> None:
    writer = WriterThread("test-writer", store.joined_writes)
    attempts: list[str] = []

    def creating(name: str) -> Callable[[], str]:
        def job() -> str:
            attempts.append(name)
            return store.sessions.create_session(name=name).id

        return job

    def failing() -> None:
        attempts.append("failing")
        store.sessions.create_session(name=f"half-done {attempts.count('failing')}")
        raise ValueError("the job fails after a write")

    try:
        futures = _queued_behind_a_held_thread(
            writer, [creating("before"), failing, creating("after")]
        )
        with pytest.raises(ValueError, match="after a write"):
            futures[1].result(WAIT)
        assert futures[0].result(WAIT) and futures[2].result(WAIT)
    finally:
        writer.shutdown()
    # The group ran up to the failure and was rolled back; then each job alone, in order:
    # the failing one committed its write before raising, as it would without a group.
    assert attempts == ["before", "failing", "before", "failing", "after"]
    assert _names(raw) == ["after", "before", "half-done 2"]


def test_a_group_holds_at_most_group_max_jobs(store: Store, raw: sqlite3.Connection) -> None:
    writer = WriterThread("test-writer", store.joined_writes)
    seen: list[int] = []

    def create(name: str) -> Callable[[], None]:
        def job() -> None:
            seen.append(len(_names(raw)))  # sessions committed before this job ran
            store.sessions.create_session(name=name)

        return job

    try:
        futures = _queued_behind_a_held_thread(
            writer, [create(f"s{i}") for i in range(GROUP_MAX + 3)]
        )
        for future in futures:
            future.result(WAIT)
    finally:
        writer.shutdown()
    assert seen == [0] * GROUP_MAX + [GROUP_MAX] * 3  # two transactions


def test_a_store_that_cannot_join_writes_runs_each_job_alone() -> None:
    memory = Store("sqlite://")  # one shared connection: no joined transactions
    writer = WriterThread("test-writer", memory.joined_writes)
    try:
        futures = _queued_behind_a_held_thread(
            writer, [lambda i=i: memory.sessions.create_session(name=f"m{i}").id for i in range(3)]
        )
        assert all(future.result(WAIT) for future in futures)
        assert [memory.sessions.find_session(f"m{i}") is not None for i in range(3)] == [True] * 3
    finally:
        writer.shutdown()
        memory.close()


def test_jobs_not_marked_for_groups_run_one_transaction_each(
    store: Store, raw: sqlite3.Connection
) -> None:
    writer = WriterThread("test-writer", store.joined_writes)
    seen: list[list[str]] = []

    def create(name: str) -> Callable[[], None]:
        def job() -> None:
            seen.append(_names(raw))
            store.sessions.create_session(name=name)

        return job

    try:
        release = hold_writer(writer)
        futures = [writer.submit(create(name)) for name in ("x", "y")]
        release.set()
        for future in futures:
            future.result(WAIT)
    finally:
        writer.shutdown()
    assert seen == [[], ["x"]]  # the first was committed before the second ran


def test_a_group_of_saves_ends_early_for_an_open_that_arrives_meanwhile(
    store: Store, raw: sqlite3.Connection
) -> None:
    writer = WriterThread("test-writer", store.joined_writes)
    order: list[str] = []
    seen_by_open: list[list[str]] = []

    def save(name: str, then: Callable[[], Any] | None = None) -> Callable[[], None]:
        def job() -> None:
            order.append(name)
            store.sessions.create_session(name=name)
            if then is not None:
                then()

        return job

    def open_turn() -> None:
        order.append("open")
        seen_by_open.append(_names(raw))

    opened: list[Future[Any]] = []
    try:
        saves = _queued_behind_a_held_thread(
            writer,
            [
                save("s0"),
                save("s1", lambda: opened.append(writer.submit(open_turn, group=True))),
                save("s2"),
                save("s3"),
            ],
            later=True,
        )
        for future in saves:
            future.result(WAIT)
        opened[0].result(WAIT)
    finally:
        writer.shutdown()
    assert order == ["s0", "s1", "open", "s2", "s3"]
    assert seen_by_open == [["s0", "s1"]]  # the saves before it were committed first
    assert _names(raw) == ["s0", "s1", "s2", "s3"]

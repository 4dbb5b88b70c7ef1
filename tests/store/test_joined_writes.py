"""``Store.joined_writes``: one transaction for a block's writes; a failed nested block voids it.

A real SQLite file; what was committed is read through a plain ``sqlite3`` connection.
"""

from __future__ import annotations

import sqlite3

import pytest

from alltoken_agent.store import Store
from alltoken_agent.store.engine import PartialWritesError


def _names(raw: sqlite3.Connection) -> list[str]:
    return sorted(name for (name,) in raw.execute("SELECT name FROM sessions"))


def test_the_blocks_writes_are_committed_together_at_its_end(
    store: Store, raw: sqlite3.Connection
) -> None:
    with store.joined_writes() as joined:
        assert joined is True
        store.sessions.create_session(name="one")
        store.sessions.create_session(name="two")
        assert _names(raw) == []  # nothing committed yet: one transaction
    assert _names(raw) == ["one", "two"]


def test_a_nested_block_that_raises_voids_the_whole_transaction(
    store: Store, raw: sqlite3.Connection
) -> None:
    # Its writes may be half done: committing the rest with them could keep half a save.
    with pytest.raises(PartialWritesError):
        with store.joined_writes():
            store.sessions.create_session(name="before")
            with pytest.raises(ValueError, match="no"):
                with store.joined_writes() as nested:
                    assert nested is True
                    store.sessions.create_session(name="half done")
                    raise ValueError("no")
            store.sessions.create_session(name="after")  # a fallback, say: voided too
    assert _names(raw) == []
    with store.joined_writes():  # the next transaction starts clean
        store.sessions.create_session(name="next")
    assert _names(raw) == ["next"]


def test_the_outer_block_raising_undoes_its_nested_blocks_too(
    store: Store, raw: sqlite3.Connection
) -> None:
    with pytest.raises(RuntimeError):
        with store.joined_writes():
            with store.joined_writes():
                store.sessions.create_session(name="released")
            raise RuntimeError("the whole block fails")
    assert _names(raw) == []


def test_an_in_memory_store_says_its_writes_are_not_joined() -> None:
    with Store("sqlite://") as memory:
        with memory.joined_writes() as joined:
            assert joined is False
            memory.sessions.create_session(name="alone")
        assert memory.sessions.find_session("alone") is not None

"""The store's writer thread runs a turn's open before the saves queued ahead of it.

``WriterThread`` is driven with real threads; ``StoreCalls`` over a real SQLite store.
A job that waits on an event holds the thread, so the jobs after it queue up.
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alltoken_agent.ledger import Ledger
from alltoken_agent.server._writer import FIRST_IN_A_ROW, WriterThread
from alltoken_agent.server.storage import StoreCalls
from alltoken_agent.store import Store
from tests.server.conftest import WRITER_WAIT as WAIT
from tests.server.conftest import hold_writer


def test_a_write_queued_after_saves_runs_before_them() -> None:
    writer = WriterThread("test-writer")
    order: list[str] = []
    try:
        release = hold_writer(writer)
        saves = [
            writer.submit(functools.partial(order.append, f"save {i}"), later=True)
            for i in range(3)
        ]
        opened = writer.submit(functools.partial(order.append, "open"))
        release.set()
        for future in [*saves, opened]:
            future.result(WAIT)
    finally:
        writer.shutdown()
    assert order == ["open", "save 0", "save 1", "save 2"]


@pytest.mark.parametrize("grouped", [False, True], ids=["alone", "in groups"])
def test_a_save_waits_behind_at_most_a_bounded_run_of_other_writes(
    grouped: bool, tmp_path: Path
) -> None:
    # In groups too (turn opens and saves share transactions; test_writer_groups.py).
    store = Store(f"sqlite:///{tmp_path / 'lanes.db'}") if grouped else None
    writer = WriterThread("test-writer", None if store is None else store.joined_writes)
    order: list[str] = []
    try:
        release = hold_writer(writer)
        save = writer.submit(functools.partial(order.append, "save"), later=True, group=grouped)
        opens = [
            writer.submit(functools.partial(order.append, f"open {i}"), group=grouped)
            for i in range(FIRST_IN_A_ROW + 4)
        ]
        release.set()
        for future in [save, *opens]:
            future.result(WAIT)
    finally:
        writer.shutdown()
        if store is not None:
            store.close()
    assert order.index("save") == FIRST_IN_A_ROW
    assert [name for name in order if name != "save"] == [f"open {i}" for i in range(12)]


def test_a_failing_job_gives_its_error_to_its_caller_and_the_next_job_runs() -> None:
    writer = WriterThread("test-writer")

    def fail() -> None:
        raise ValueError("the store said no")

    try:
        failed = writer.submit(fail)
        after = writer.submit(lambda: "written")
        with pytest.raises(ValueError, match="the store said no"):
            failed.result(WAIT)
        assert after.result(WAIT) == "written"
    finally:
        writer.shutdown()


def test_shutdown_runs_every_queued_job_then_refuses_more() -> None:
    writer = WriterThread("test-writer")
    order: list[str] = []
    release = hold_writer(writer)
    writer.submit(functools.partial(order.append, "save"), later=True)
    writer.submit(functools.partial(order.append, "open"))
    threading.Timer(0.05, release.set).start()
    writer.shutdown()  # returns once the queued jobs ran
    assert order == ["open", "save"]
    with pytest.raises(RuntimeError, match="shut down"):
        writer.submit(lambda: None)


def test_a_servers_plain_write_goes_before_the_turn_saves_waiting(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'calls.db'}")
    calls = StoreCalls(Ledger(store))
    order: list[str] = []

    async def queue_up() -> None:
        release, holding = threading.Event(), threading.Event()

        def hold() -> None:
            holding.set()
            release.wait(WAIT)

        held = asyncio.ensure_future(calls.write(hold))
        assert await asyncio.to_thread(holding.wait, WAIT)
        saves = [
            asyncio.ensure_future(calls.write_joined(order.append, f"save {i}")) for i in range(2)
        ]
        opened = asyncio.ensure_future(calls.write(order.append, "open"))
        await asyncio.sleep(0)  # every write handed to the thread before it goes on
        release.set()
        await asyncio.gather(held, *saves, opened)

    try:
        asyncio.run(queue_up())
        assert order == ["open", "save 0", "save 1"]
    finally:
        calls.close()
        store.close()


def test_jobs_queued_when_the_interpreter_exits_still_run(tmp_path: Path) -> None:
    # A server stopped without closing its store calls still writes what it queued.
    marker = tmp_path / "written"
    script = f"""
import threading, time
from pathlib import Path
from alltoken_agent.server._writer import WriterThread
writer = WriterThread("test-writer")
writer.submit(lambda: time.sleep(0.2))
writer.submit(lambda: Path({str(marker)!r}).write_text("saved"), later=True)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "saved"

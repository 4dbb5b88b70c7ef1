"""The store's work per server message: open a turn, save it with its ledger row.

What ``serve``'s writer thread does for each message to a session (see
``server/runs.py`` and ``server/storage.py``), called directly on a temporary SQLite
file, with no server, gateway or event loop around it:

1. ``store.sessions.open_turn``: take the session's lease, read the session and its
   history (one transaction);
2. ``store.sessions.close_turn`` inside ``store.joined_writes()`` with the turn's
   ledger row (``UsageRepository.add_many``): the user's message and the reply
   appended, the lease given up, the row inserted, one commit.

``--sessions`` sessions take turns in rotation, so each session's history grows by two
messages a round, as in the steady phase of ``bench/server_load.py`` (about 6 turns
per session in 12 s). CPU time (``time.process_time``) per turn is printed, and for
its two halves apart; a floor measured between the rounds (a write transaction of one
no-op UPDATE straight on ``sqlite3``, which nothing here changes) gives a ratio that
survives a busy machine better than the microseconds do. ``--profile`` prints the top of a
cProfile of the turns.

Then ``--busy-rounds`` more rounds (default 1) run on a thread while the main thread runs
Python all the time, as the server's writer thread runs beside an event loop under load:
wall time per turn, also in switch intervals (``sys.getswitchinterval()``). Each time
the driver lets the GIL go (a fetched row, a commit, a ``stat``) the thread may wait one
interval to get it back, so this counts those hand-backs more than it measures SQLite.

Run ``python bench/store_turns.py`` (defaults: 200 sessions, 10 rounds).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from alltoken_agent.gateway import RequestRecord
from alltoken_agent.gateway.accounting import Cost, Usage
from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store, UsageRepository

REPLY = " ".join(f"word{i}" for i in range(40))
"""The steady phase's reply: 40 text chunks, about this long."""


def _record(session_id: str) -> RequestRecord:
    return RequestRecord(
        kind="chat",
        provider="alltoken",
        model="minimax-m2.7",
        started_at=datetime.now(timezone.utc),
        outcome="ok",
        stream=True,
        latency=2.0,
        ttft=0.05,
        usage=Usage(prompt_tokens=40, completion_tokens=40, total_tokens=80),
        cost=Cost(Decimal("0.0001")),
        status=200,
        request_id="req_bench",
        tags={"owner": "key_bench", "session": session_id, "server_run": "run_bench"},
        simulated=True,
    )


def _turn(
    store: Store,
    ledger: Ledger,
    usage: UsageRepository,
    sid: str,
    n: int,
    clock: Callable[[], float] = time.process_time,
) -> tuple[float, float]:
    """One message's store work; the ``clock`` seconds of its open and of its close (with row).

    CPU time by default; wall time for the turns beside a busy thread.
    """
    start = clock()
    opened = store.sessions.open_turn(sid, owner="key_bench", holder="h/1/x", seconds=30.0)
    middle = clock()
    assert opened.session is not None
    messages = [
        {"role": "user", "content": f"message {n}"},
        {"role": "assistant", "content": REPLY},
    ]
    with store.joined_writes():
        usage.add_many([ledger.to_row(_record(sid))])
        store.sessions.close_turn(sid, "h/1/x", messages)
    return middle - start, clock() - middle


def _beside_busy_thread(
    store: Store, ledger: Ledger, usage: UsageRepository, sids: list[str], n: int
) -> tuple[list[float], list[float]]:
    """Wall seconds of each turn's open and close, run on a thread while this one runs Python.

    As the server's writer thread runs them beside an event loop under load: each time
    the driver lets the GIL go (a step, a commit, a ``stat``), the thread may wait a
    switch interval to get it back.
    """
    done = threading.Event()
    opens: list[float] = []
    closes: list[float] = []

    def turns() -> None:
        try:
            for sid in sids:
                opened, closed = _turn(store, ledger, usage, sid, n, time.perf_counter)
                opens.append(opened)
                closes.append(closed)
        finally:
            done.set()

    worker = threading.Thread(target=turns)
    worker.start()
    spins = 0
    while not done.is_set():  # Python bytecode all the time, as a busy event loop runs
        spins += 1
    worker.join()
    return opens, closes


def _floor(path: Path, count: int) -> float:
    """CPU seconds per empty write transaction straight on ``sqlite3`` (no SQLAlchemy).

    Nothing this bench measures changes it: a yardstick for how fast the machine runs now.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        start = time.process_time()
        for _ in range(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE sessions SET name = name WHERE id = ''")
            conn.execute("COMMIT")
        return (time.process_time() - start) / count
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile the turns")
    parser.add_argument(
        "--busy-rounds", type=int, default=1, help="rounds beside a busy thread (0: none)"
    )
    args = parser.parse_args()
    opens: list[float] = []
    closes: list[float] = []
    floors: list[float] = []
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    with tempfile.TemporaryDirectory(prefix="alltoken-store-turns-") as folder:
        path = Path(folder) / "bench.db"
        with Store(f"sqlite:///{path}") as store:
            ledger = Ledger(store, simulated=True)
            usage = UsageRepository.of(store)
            sids = [
                store.sessions.create_session(owner="key_bench", model="minimax-m2.7").id
                for _ in range(args.sessions)
            ]
            for sid in sids[:10]:  # warm caches (compiled statements, the pool)
                _turn(store, ledger, usage, sid, 0)
            for n in range(1, args.rounds + 1):
                floors.append(_floor(path, 200))
                if profiler is not None:
                    profiler.enable()
                for sid in sids:
                    opened, closed = _turn(store, ledger, usage, sid, n)
                    opens.append(opened)
                    closes.append(closed)
                if profiler is not None:
                    profiler.disable()
            busy_opens: list[float] = []
            busy_closes: list[float] = []
            for n in range(args.rounds + 1, args.rounds + 1 + args.busy_rounds):
                opened_walls, closed_walls = _beside_busy_thread(store, ledger, usage, sids, n)
                busy_opens += opened_walls
                busy_closes += closed_walls
    turns = [a + b for a, b in zip(opens, closes, strict=True)]
    floor = statistics.median(floors)
    mean = statistics.fmean(turns)
    print(f"sqlite {sqlite3.sqlite_version}, python {sys.version.split()[0]}")
    print(f"{args.sessions} sessions x {args.rounds} rounds (history grows 2 messages a round)")
    print("CPU per turn, µs        mean  median")
    for label, values in (
        ("open_turn", opens),
        ("close_turn + ledger row", closes),
        ("whole turn", turns),
    ):
        mean_us, median_us = statistics.fmean(values) * 1e6, statistics.median(values) * 1e6
        print(f"  {label:24s}{mean_us:6.0f}  {median_us:6.0f}")
    print(f"  raw sqlite3 write txn   {floor * 1e6:6.0f}  (floor, median of {len(floors)})")
    print(f"  whole turn / floor      {mean / floor:6.1f}x")
    if busy_opens:
        interval = sys.getswitchinterval() * 1000
        print(
            f"beside a thread running Python ({len(busy_opens)} turns, a switch interval of "
            f"{interval:g} ms): wall ms per turn, and in switch intervals"
        )
        print("                          mean  median     p90  mean/interval")
        for label, values in (("open_turn", busy_opens), ("close_turn + ledger row", busy_closes)):
            ms = sorted(value * 1000 for value in values)
            mean_ms = statistics.fmean(ms)
            print(
                f"  {label:24s}{mean_ms:6.1f}  {statistics.median(ms):6.1f}  "
                f"{ms[int(len(ms) * 0.9)]:6.1f}  {mean_ms / interval:6.1f}"
            )
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()

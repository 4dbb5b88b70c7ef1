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
per session in 12 s). CPU time (``time.process_time``) per turn is printed for each
round, and for the two halves apart; a floor measured in the same run (one
``BEGIN IMMEDIATE``/``COMMIT`` of an empty write transaction through the same
engine) gives a ratio that survives a busy machine. ``--profile`` prints the top of a
cProfile of the turns.

Run ``python bench/store_turns.py`` (defaults: 200 sessions, 10 rounds).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
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


def _turn(store: Store, ledger: Ledger, usage: UsageRepository, sid: str, n: int) -> float:
    """One message's store work; returns the CPU seconds it took."""
    start = time.process_time()
    opened = store.sessions.open_turn(sid, owner="key_bench", holder="h/1/x", seconds=30.0)
    assert opened.session is not None
    messages = [
        {"role": "user", "content": f"message {n}"},
        {"role": "assistant", "content": REPLY},
    ]
    with store.joined_writes():
        usage.add_many([ledger.to_row(_record(sid))])
        store.sessions.close_turn(sid, "h/1/x", messages)
    return time.process_time() - start


def _floor(store: Store, count: int) -> float:
    """CPU seconds per empty write transaction (BEGIN IMMEDIATE, COMMIT) on the same engine."""
    db = store._db
    start = time.process_time()
    for _ in range(count):
        with db.write():
            pass
    return (time.process_time() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile the turns")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alltoken-store-turns-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        with Store(url) as store:
            ledger = Ledger(store, simulated=True)
            usage = UsageRepository.of(store)
            sids = [
                store.sessions.create_session(owner="key_bench", model="minimax-m2.7").id
                for _ in range(args.sessions)
            ]
            for sid in sids[:10]:  # warm caches (compiled statements, the pool)
                _turn(store, ledger, usage, sid, 0)
            floor = _floor(store, 500)
            profiler = cProfile.Profile() if args.profile else None
            per_round: list[float] = []
            all_turns: list[float] = []
            if profiler is not None:
                profiler.enable()
            for n in range(1, args.rounds + 1):
                times = [_turn(store, ledger, usage, sid, n) for sid in sids]
                all_turns.extend(times)
                per_round.append(statistics.fmean(times))
            if profiler is not None:
                profiler.disable()
            floor_after = _floor(store, 500)
    floor = min(floor, floor_after)
    mean = statistics.fmean(all_turns)
    print(f"sqlite {__import__('sqlite3').sqlite_version}, python {sys.version.split()[0]}")
    print(f"{args.sessions} sessions x {args.rounds} rounds; CPU per turn (open + close + row)")
    rounds = ", ".join(f"{us * 1e6:.0f}" for us in per_round)
    print(f"  per round (µs):   {rounds}")
    print(
        f"  mean:             {mean * 1e6:.0f} µs   median {statistics.median(all_turns) * 1e6:.0f}"
    )
    print(f"  empty write txn:  {floor * 1e6:.0f} µs (floor)")
    print(f"  ratio to floor:   {mean / floor:.1f}x")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()

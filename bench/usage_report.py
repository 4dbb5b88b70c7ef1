"""Usage reports over a large ledger: summed by the database, against its own floor.

The issue's target: `usage` over 1M ledger rows answers in at most 300 ms. A SQLite
ledger of N rows (100k and 1M by default; 60 days, 5 models, 3 sessions, costs with
10 fraction digits as the gateway reports them, a few unknown) is written once per
size into a throwaway folder. Then, for each size, after one uncounted warm-up:

- `first report`: the first ``Ledger.report`` on a new ledger, which sums the whole
  days that are over once and keeps them (``store/usage_days.py``);
- `report`: ``Ledger.report(since=60 days ago, by=...)`` for model, day and session
  (what `alltoken-agent usage` calls), plus ``Ledger.spent`` (its offline count), once
  the days are kept: the kept sums plus the rows of today and of the first, partial day;
- `floor`: one plain ``SELECT ... GROUP BY`` with COUNT and SUM over the same rows and
  filter, in the sqlite3 module (no exact decimal sums: the least any report costs);
- `rows`: the old way, every matching row read into Python (once, for the record);
- `usage` (CLI): `alltoken-agent usage --since 60d` as a fresh process, wall time.

Figures are medians of wall ms, with the ratio to the floor in the same run. The last
line is the verdict against 300 ms for the 1M-row report. The exit code is 0 either
way: a measurement, not a test.

Run ``python bench/usage_report.py`` (``--sizes 100000`` for a quick run).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from alltoken_agent.ledger import Ledger
from alltoken_agent.store import Store
from alltoken_agent.store.usage import UsageQuery, UsageRepository

TARGET_MS = 300.0
MODELS = ["gpt-5.4-nano", "glm-5", "deepseek-v3.2", "claude-haiku-4-5", "qwen3.6-flash"]
SESSIONS = ["work", "home", None]


def build(path: Path, rows: int) -> None:
    """A migrated SQLite ledger holding ``rows`` usage rows over the last 60 days."""
    with Store(f"sqlite:///{path}"):
        pass  # migrations
    rng = random.Random(rows)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    span = 60 * 24 * 3600

    def row(i: int) -> tuple[object, ...]:
        when = now - timedelta(seconds=rng.randrange(span))
        cost = None if i % 50 == 0 else f"0.{rng.randrange(10**9):010d}"
        return (
            when.isoformat(sep=" ", timespec="microseconds"),
            "chat",
            "alltoken",
            MODELS[i % len(MODELS)],
            SESSIONS[i % len(SESSIONS)],
            f"req_{i}",
            1,
            rng.randrange(4000),
            rng.randrange(800),
            cost,
            "unknown" if cost is None else "gateway",
            "USD",
            "ok",
            1,
            "{}",
            0,
        )

    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO usage (created_at, kind, provider, model, session, request_id, stream, "
            "prompt_tokens, completion_tokens, cost, cost_source, currency, outcome, attempts, "
            "extra, simulated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (row(i) for i in range(rows)),
        )


CPU: dict[int, list[float]] = {}
"""CPU ms of the calls :func:`timed` made last, by id of its list of wall times."""


def timed(work: object, repeat: int) -> list[float]:
    """Wall ms of each of ``repeat`` calls, after one uncounted call (CPU ms in CPU)."""
    assert callable(work)
    work()
    times, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        work()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    CPU[id(times)] = cpu
    return times


def figures(times: list[float]) -> tuple[float, float]:
    """Median wall ms and median CPU ms of one :func:`timed` run."""
    return statistics.median(times), statistics.median(CPU.get(id(times), [0.0]))


def floor_query(path: Path, since: datetime, key: str) -> None:
    """The least a grouped report costs: one GROUP BY with COUNT and SUM in sqlite3."""
    column = "substr(created_at, 1, 10)" if key == "day" else key
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"SELECT {column}, count(*), sum(prompt_tokens), sum(completion_tokens), "
            "sum(cost IS NULL) FROM usage NOT INDEXED WHERE owner IS NULL AND simulated = 0 "
            f"AND created_at >= ? GROUP BY {column}",
            (since.replace(tzinfo=None).isoformat(sep=" "),),
        ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="ledger sizes, comma-separated")
    parser.add_argument("-n", "--repeat", type=int, default=5, help="timed calls per figure")
    parser.add_argument("--no-rows", action="store_true", help="skip the old row-by-row read")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    program = str(Path(sys.executable).parent / "alltoken-agent")
    verdict = None
    print(f"usage reports: medians of {args.repeat} calls, SQLite, {os.cpu_count()} CPUs")
    print(f"{'rows':>9} {'figure':<28} {'wall ms':>9} {'x floor':>8} {'CPU ms':>9} {'x floor':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            home = Path(folder) / f"home{size}"
            path = home / "data" / "alltoken-agent.db"
            path.parent.mkdir(parents=True)
            build(path, size)
            since = datetime.now(timezone.utc) - timedelta(days=60)
            with Store(f"sqlite:///{path}") as store:
                ledger = Ledger(store)
                # The first report sums the whole days once and keeps them; later ones
                # read those sums and only the rows of today and of the first, partial day.
                started, used = time.perf_counter(), time.process_time()
                ledger.report(since, "model")
                cold = (time.perf_counter() - started) * 1000
                cold_cpu = (time.process_time() - used) * 1000
                line = f"{size:>9,} {'first report (keeps days)':<28} {cold:9.1f}"
                print(f"{line} {'':>8} {cold_cpu:9.1f}")
                for key in ("model", "day", "session"):
                    floor, floor_cpu = figures(
                        timed(
                            lambda key=key, path=path, since=since: floor_query(path, since, key),
                            args.repeat,
                        )
                    )
                    report, report_cpu = figures(
                        timed(
                            lambda key=key, ledger=ledger, since=since: ledger.report(since, key),
                            args.repeat,
                        )
                    )
                    line = f"{size:>9,} {'floor GROUP BY ' + key:<28}"
                    print(f"{line} {floor:9.1f} {1:7.2f}x {floor_cpu:9.1f} {1:7.2f}x")
                    line = f"{size:>9,} {'report by ' + key:<28} {report:9.1f}"
                    ratios = (
                        f"{report / floor:7.2f}x {report_cpu:9.1f} {report_cpu / floor_cpu:7.2f}x"
                    )
                    print(f"{line} {ratios}")
                    if key == "model" and size == max(sizes):
                        verdict = report
                offline = Ledger(store, simulated=True)
                spent = statistics.median(
                    timed(
                        lambda offline=offline, since=since: offline.spent(since=since), args.repeat
                    )
                )
                print(f"{size:>9,} {'spent (offline book)':<28} {spent:9.1f}")
                if not args.no_rows:
                    repository = UsageRepository.of(store)
                    query = UsageQuery(since=since)
                    started = time.perf_counter()
                    read = len(repository.cost_facts(query))
                    old = (time.perf_counter() - started) * 1000
                    print(
                        f"{size:>9,} {'old: every row into Python':<28} {old:9.1f} "
                        f"({old * 1000 / read:.2f} µs per row)"
                    )
            env = {**os.environ, "ALLTOKEN_AGENT_HOME": str(home)}
            cli = statistics.median(
                timed(
                    lambda env=env: subprocess.run(
                        [program, "usage", "--since", "60d"],
                        env=env,
                        capture_output=True,
                        check=True,
                    ),
                    max(3, args.repeat // 2),
                )
            )
            print(f"{size:>9,} {'usage --since 60d (process)':<28} {cli:9.1f}")
    assert verdict is not None
    result = "PASS" if verdict <= TARGET_MS else "FAIL"
    print(
        f"{result} report by model over {max(sizes):,} rows: {verdict:.1f} ms "
        f"(target <= {TARGET_MS:.0f} ms)"
    )


if __name__ == "__main__":
    main()

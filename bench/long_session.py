"""Long sessions: `chat --session` with 10,000 stored turns against the same with 10.

The issue's target: a message in a session of 10,000 stored turns takes at most
1.2x the time of one in a session of 10 (the floor, measured in the same run). Each
run is a fresh `alltoken-agent chat --session NAME` process against the simulator
(`python -m alltoken_agent simulator` in a child process, so its CPU is not ours),
with the store in a throwaway ``ALLTOKEN_AGENT_HOME``. The turns are seeded straight
into the store (a user message and the assistant's answer, ~200 characters each),
so 10,000 of them (~1.1M tokens) do not fit the model's context (DeepSeek V3.2,
131,072 tokens in the simulator's catalog) and the agent must leave the oldest out.

Every round runs both sessions once, in rotating order, after an uncounted warm-up
round; a run's message is appended to its session, so the session grows by one turn
per round (noise next to 10,000). Figures are wall-clock medians in ms with the
p10-p90 range, and the ratio of the medians. The last line is the verdict,
`PASS`/`FAIL` against 1.2x. The exit code is 0 either way: a measurement, not a test.

Run ``python bench/long_session.py`` (``-n 10`` for more rounds). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agent_overhead import API_KEY, SimulatorProcess
from alltoken_agent.store import Store
from alltoken_agent.store.schema import messages as messages_table

TARGET = 1.2
"""The issue's limit: time per message at 10,000 turns over the time at 10."""
MODEL = "deepseek-v3.2"
"""A model whose context (131,072 tokens) 10,000 turns overflow."""
TEXT = "The build runs on Fridays; remember the release notes and the changelog. " * 3


def seed(home: Path, name: str, turns: int) -> None:
    """Create session ``name`` holding ``turns`` user/assistant pairs, in one insert."""
    os.environ["ALLTOKEN_AGENT_HOME"] = str(home)
    with Store() as store:
        record, _ = store.sessions.get_or_create_session(name)
        now = datetime.now(timezone.utc)
        rows = []
        for turn in range(turns):
            for role in ("user", "assistant"):
                rows.append(
                    {
                        "session_id": record.id,
                        "position": len(rows),
                        "message": {"role": role, "content": f"{turn} {role}: {TEXT}"},
                        "created_at": now,
                    }
                )
        with store._db.write() as conn:  # a bench seeds in bulk; the API appends per turn
            conn.execute(sa.insert(messages_table), rows)


def run_chat(program: str, home: Path, root: str, name: str) -> float:
    """Wall milliseconds of one `chat --session` message; it must succeed."""
    env = {**os.environ, "ALLTOKEN_AGENT_HOME": str(home), "ALLTOKEN_API_KEY": API_KEY}
    argv = [program, "chat", "--session", name, "-m", MODEL, "--base-url", f"{root}/v1"]
    argv += ["--tools", "none", "--json", "What day is the build?"]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"chat --session {name} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    events = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if not any(event.get("type") == "done" or event.get("event") == "done" for event in events):
        sys.exit(f"chat --session {name} printed no done event")
    return elapsed


def trim_ms(home: Path, name: str, limit: int) -> tuple[int, float, float]:
    """Messages read for a context of ``limit`` tokens, and how long the trim holds the loop.

    The trim runs on the event loop before each request, as a turn runs it: the
    messages' counts (:class:`TokenCounts`, kept between requests, counted in slices
    that let the loop run) and then the fit. A ticking task measures the longest the
    loop went without turning (CPU time of the thread, so a busy machine does not add
    to it), for a first request (everything counted) and the next one (one message
    more). The issue's bound is 5 ms. Best of 5 runs, ms: (first, next).
    """
    from alltoken_agent.agent.context import TokenCounts, fit_messages
    from alltoken_agent.ledger import rough_token_count

    os.environ["ALLTOKEN_AGENT_HOME"] = str(home)
    with Store() as store:
        record = store.sessions.find_session(name)
        assert record is not None
        history = store.sessions.load_recent_messages(
            record.id, budget=limit, measure=lambda m: rough_token_count((m,))
        )
    base = [{"role": "system", "content": "be brief"}, *history]
    base.append({"role": "user", "content": "What day is the build?"})

    async def longest_hold() -> tuple[float, float]:
        messages, counts = list(base), TokenCounts()
        held = 0.0
        ticking = True

        async def tick() -> None:
            # CPU time of this thread between two turns of the loop: what the trim held
            # it for, without the time other processes of a busy machine took the core.
            nonlocal held
            last = time.thread_time()
            while ticking:
                await asyncio.sleep(0)
                now = time.thread_time()
                held, last = max(held, now - last), now

        ticker = asyncio.create_task(tick())
        figures = []
        for more in ({"role": "assistant", "content": "Fridays."}, None):
            for _ in range(3):
                await asyncio.sleep(0)
            held = 0.0
            counted = await counts.count(messages)
            fit_messages(messages, {}, limit=limit, policy="trim", counts=counted)
            await asyncio.sleep(0)
            figures.append(held * 1000)
            if more is not None:
                messages.extend([more, {"role": "user", "content": "And on holidays?"}])
        ticking = False
        await ticker
        return figures[0], figures[1]

    runs = [asyncio.run(longest_hold()) for _ in range(5)]
    return len(history), min(r[0] for r in runs), min(r[1] for r in runs)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=5, help="timed rounds")
    parser.add_argument("--turns", type=int, default=10_000, help="turns of the long session")
    args = parser.parse_args()
    program = str(Path(sys.executable).parent / "alltoken-agent")
    sizes = {"10 turns": 10, f"{args.turns:,} turns": args.turns}
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        for index, turns in enumerate(sizes.values()):
            seed(home, f"s{index}", turns)
        simulator = SimulatorProcess()
        try:
            simulator.wait_ready()
            labels = list(sizes)
            times: dict[str, list[float]] = {label: [] for label in labels}
            for round_ in range(args.rounds + 1):
                order = labels if round_ % 2 == 0 else labels[::-1]
                for label in order:
                    elapsed = run_chat(program, home, simulator.root, f"s{labels.index(label)}")
                    if round_ > 0:
                        times[label].append(elapsed)
        finally:
            simulator.stop()
        trims = {limit: trim_ms(home, "s1", limit) for limit in (131_072, 1_048_576)}
    floor = statistics.median(times[labels[0]])
    print(f"chat --session: median wall ms of {args.rounds} messages each, model {MODEL}")
    print(f"{'session':<16} {'median':>8} {'p10-p90':>15} {'x 10 turns':>11}")
    for label, values in times.items():
        median = statistics.median(values)
        spread = f"{percentile(values, 0.1):.0f}-{percentile(values, 0.9):.0f}"
        print(f"{label:<16} {median:8.0f} {spread:>15} {median / floor:10.2f}x")
    for limit, (read, first, following) in trims.items():
        print(
            f"trim on the event loop, {limit:,}-token context: {read:,} messages read, longest "
            f"hold {first:.2f} ms (first request), {following:.2f} ms (next request)"
        )
    ratio = statistics.median(times[labels[1]]) / floor
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"{verdict} {labels[1]} per message {ratio:.2f}x the 10-turn time (target <= {TARGET}x)")


if __name__ == "__main__":
    main()

"""CLI start-up: wall time of `alltoken-agent --help` and `chat --help`, against baselines.

The issue's target: `alltoken-agent --help` takes at most 150 ms (median) on this
machine. Each command runs as a fresh process, as a shell would start it; the
baselines are `python -c pass` (the interpreter alone, the floor) and `llm --help`
(simonw/llm, another Python CLI) when `llm` is on PATH. It is not installed for
this: only measured when it is there.

Rounds run every command once, in rotating order, after uncounted warm-up rounds
(so the page cache is warm for all). Figures are medians and the p10-p90 range of
wall milliseconds; ratios are against `python -c pass`. The last line is the
verdict, `PASS`/`FAIL`. The exit code is 0 either way: this is a measurement, not
a test. `--imports` adds, per command, the modules that took longest to import
(from `python -X importtime`).

Run ``python bench/cli_startup.py`` (``-n 50`` for more rounds). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_MS = 150.0
"""The issue's limit for the median of `alltoken-agent --help`."""


def find_program() -> str:
    """The `alltoken-agent` script next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "alltoken-agent"
    if beside.exists():
        return str(beside)
    found = shutil.which("alltoken-agent")
    if found is None:
        sys.exit("alltoken-agent is not installed (pip install -e .)")
    return found


def commands(program: str) -> dict[str, list[str]]:
    """Label -> argv, baselines first."""
    chosen = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "alltoken-agent --help": [program, "--help"],
        "alltoken-agent chat --help": [program, "chat", "--help"],
    }
    llm = shutil.which("llm")
    if llm is not None:
        chosen["llm --help"] = [llm, "--help"]
    return chosen


def run_once(argv: list[str]) -> float:
    """Wall milliseconds of one run; the command must succeed."""
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}")
    return elapsed


def measure(chosen: dict[str, list[str]], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Every command once per round, the order rotating; warm-up rounds are dropped."""
    labels = list(chosen)
    times: dict[str, list[float]] = {label: [] for label in labels}
    for index in range(warmup + rounds):
        shift = index % len(labels)
        for label in labels[shift:] + labels[:shift]:
            elapsed = run_once(chosen[label])
            if index >= warmup:
                times[label].append(elapsed)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def slowest_imports(argv: list[str], count: int = 6) -> list[tuple[str, float]]:
    """The top-level imports with the largest cumulative time (ms) in one run."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    script = argv[0]
    if Path(script).name != Path(sys.executable).name:  # a console script: run its Python
        argv = [sys.executable, "-m", "alltoken_agent", *argv[1:]]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    rows: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split(":", 1)[1].split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:count]


def report(times: dict[str, list[float]], rounds: int) -> None:
    floor = statistics.median(times["python -c pass"])
    llm = statistics.median(times["llm --help"]) if "llm --help" in times else None
    print(
        f"CLI start-up: median wall ms of {rounds} runs each, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    header = f"{'command':<28} {'median':>7} {'p10-p90':>13} {'x python':>9} {'+ ms':>7}"
    if llm is not None:
        header += f" {'x llm':>6}"
    print(header)
    for label, values in times.items():
        median = statistics.median(values)
        spread = f"{percentile(values, 0.1):.1f}-{percentile(values, 0.9):.1f}"
        line = (
            f"{label:<28} {median:7.1f} {spread:>13} {median / floor:8.2f}x {median - floor:7.1f}"
        )
        if llm is not None:
            line += f" {median / llm:5.2f}x"
        print(line)
    if llm is None:
        print(f"{'llm --help':<28} (llm is not on PATH: not measured)")
    result = statistics.median(times["alltoken-agent --help"])
    verdict = "PASS" if result <= TARGET_MS else "FAIL"
    print(f"{verdict} alltoken-agent --help median {result:.1f} ms (target <= {TARGET_MS:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=30, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=3, help="uncounted rounds first")
    parser.add_argument("--imports", action="store_true", help="show the slowest imports")
    args = parser.parse_args()
    chosen = commands(find_program())
    times = measure(chosen, args.rounds, args.warmup)
    report(times, args.rounds)
    if args.imports:
        for label, argv in chosen.items():
            if label.startswith("alltoken-agent"):
                slow = ", ".join(f"{name} {ms:.1f}" for name, ms in slowest_imports(argv))
                print(f"slowest imports, {label} (cumulative ms): {slow}")


if __name__ == "__main__":
    main()

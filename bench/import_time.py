"""Import time of ``alltoken_agent.gateway`` and ``alltoken_agent.agent`` against ``import httpx``.

Every import runs in a fresh interpreter (``python -c "import X"``), several rounds
in rotating order after one uncounted warm-up round. Figures are medians of the
child's CPU time (user + system, from ``os.wait4``; steadier than wall time on a
shared machine) and of its wall time, with the p10-p90 range; "+ms" is the time
above ``python -c pass``, the interpreter's own start-up and the floor; the ratio
is that figure against httpx's. ``import alltoken_agent.gateway`` imports httpx
without httpx's own command-line client (click, rich, pygments; see
``src/alltoken_agent/_httpx_import.py``), so its floor is the row "import httpx, no
client", which imports httpx the same way. The last row makes an ``Agent`` (with its
default tools and a ``Gateway``; no request). A row imports the gateway and opens a
``Gateway`` (no request), so that work deferred from the import to the first use
still shows. Then, for each module, the third-party packages
the import loaded, and whether any it must not load (SQLAlchemy, the openai SDK,
Starlette, uvicorn, Pillow, or a front end's Typer, Textual, FastAPI, mcp) came in.
The children run without ``PYTHONDONTWRITEBYTECODE`` (as in bench/cli_startup.py:
with it set, a module edited since its ``.pyc`` was written is compiled on every run).
The exit code is 0 either way: this is a measurement, not a test
(``tests/test_import_weight.py`` pins the forbidden list).

    .venv/bin/python bench/import_time.py          # 20 rounds, about 30 s
    .venv/bin/python bench/import_time.py -n 50    # more rounds
    .venv/bin/python bench/import_time.py --importtime  # and the slowest imports of each
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

FLOOR = "pass"
BASELINE = "import httpx"
OPEN_GATEWAY = "from alltoken_agent.gateway import Gateway; Gateway(api_key='k')"
"""Import and open a Gateway (no request: its connection pool starts with the first one).
What the import defers, or what opening builds on first use (pydantic's serializers for
the config), shows here."""
HTTPX_WITHOUT_CLIENT = "import sys; sys.modules['httpx._main'] = None; import httpx"
"""httpx as the gateway imports it: without its command-line client."""
MAKE_AGENT = "from alltoken_agent import Agent, Gateway; Agent('m', gateway=Gateway(api_key='k'))"
"""Import and make an Agent with its default tools (no request)."""
TARGETS = (
    HTTPX_WITHOUT_CLIENT,
    "import alltoken_agent.gateway",
    OPEN_GATEWAY,
    "import alltoken_agent.agent",
    MAKE_AGENT,
)
LABELS = {
    OPEN_GATEWAY: "open a Gateway (import + Gateway())",
    HTTPX_WITHOUT_CLIENT: "import httpx, no client",
    MAKE_AGENT: "make an Agent (+ Gateway())",
}
_NEVER = (
    "sqlalchemy",
    "openai",
    "starlette",
    "uvicorn",
    "PIL",
    "typer",
    "textual",
    "fastapi",
    "mcp",
)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment: an installed package has its ``.pyc`` files, so the
warm-up round writes any that are missing or stale instead of every run compiling."""
FORBIDDEN = {code: _NEVER for code in TARGETS}
"""What neither import may load: heavy libraries and front-end frameworks."""


@dataclass
class Timings:
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)


def run_once(code: str) -> tuple[float, float]:
    """CPU and wall milliseconds of ``python -c code`` in a fresh process."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env=CHILD_ENV)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"python -c {code!r} failed with exit code {child.returncode}")
    return (usage.ru_utime + usage.ru_stime) * 1000, wall * 1000


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    low = ordered[int(0.1 * (len(ordered) - 1))]
    high = ordered[int(0.9 * (len(ordered) - 1))]
    return f"{low:.1f}-{high:.1f}"


def loaded_packages(code: str) -> list[str]:
    """The third-party top-level packages ``code`` leaves in ``sys.modules``."""
    probe = (
        f"{code}\nimport json, sys\n"
        "tops = {n.split('.')[0] for n in sys.modules}\n"
        "print(json.dumps(sorted(t for t in tops - set(sys.stdlib_module_names)"
        " if not t.startswith('_'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return [name for name in json.loads(out) if name != "alltoken_agent"]


def slowest_imports(code: str, count: int = 8) -> list[tuple[int, str]]:
    """The ``count`` slowest imports of ``code`` by cumulative µs (``-X importtime``)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
    ).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=20)
    parser.add_argument("--importtime", action="store_true", help="show the slowest imports")
    args = parser.parse_args()

    codes = [FLOOR, BASELINE, *TARGETS]
    timings = {code: Timings() for code in codes}
    for code in codes:  # warm-up: the page cache and .pyc files
        run_once(code)
    for index in range(args.rounds):
        shift = index % len(codes)
        for code in codes[shift:] + codes[:shift]:
            cpu, wall = run_once(code)
            timings[code].cpu_ms.append(cpu)
            timings[code].wall_ms.append(wall)

    floor_cpu = statistics.median(timings[FLOOR].cpu_ms)
    floor_wall = statistics.median(timings[FLOOR].wall_ms)
    base_cpu = statistics.median(timings[BASELINE].cpu_ms) - floor_cpu
    base_wall = statistics.median(timings[BASELINE].wall_ms) - floor_wall
    print(
        f"Import time: medians of {args.rounds} fresh processes each, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'python -c':36} {'cpu ms':>7} {'p10-p90':>12} {'+ms':>7} {'x httpx':>8}"
        f"   {'wall ms':>7} {'p10-p90':>12} {'+ms':>7} {'x httpx':>8}"
    )
    for code in codes:
        cpu = statistics.median(timings[code].cpu_ms)
        wall = statistics.median(timings[code].wall_ms)
        above_cpu, above_wall = cpu - floor_cpu, wall - floor_wall
        ratio_cpu = f"{above_cpu / base_cpu:.2f}x" if code != FLOOR and base_cpu > 0 else ""
        ratio_wall = f"{above_wall / base_wall:.2f}x" if code != FLOOR and base_wall > 0 else ""
        label = LABELS.get(code, code)[:36]
        print(
            f"{label:36} {cpu:7.1f} {spread(timings[code].cpu_ms):>12} {above_cpu:7.1f} "
            f"{ratio_cpu:>8}   {wall:7.1f} {spread(timings[code].wall_ms):>12} "
            f"{above_wall:7.1f} {ratio_wall:>8}"
        )

    print("\nThird-party packages each import loads:")
    for code in (BASELINE, *TARGETS):
        packages = loaded_packages(code)
        print(f"  {LABELS.get(code, code)}: {', '.join(packages) or '(none)'}")
        forbidden = [name for name in FORBIDDEN.get(code, ()) if name in packages]
        if code in FORBIDDEN:
            verdict = "FAIL" if forbidden else "PASS"
            detail = ", ".join(forbidden) if forbidden else "none of " + ", ".join(FORBIDDEN[code])
            print(f"    {verdict} forbidden imports: {detail}")

    if args.importtime:
        for code in (BASELINE, *TARGETS):
            print(f"\nSlowest imports of {LABELS.get(code, code)} (cumulative µs, -X importtime):")
            for micros, name in slowest_imports(code):
                print(f"  {micros:9d} {name}")


if __name__ == "__main__":
    main()

"""200 concurrent image jobs in one process: polls per job, memory, and the journal's cost.

The simulator runs as ``python -m alltoken_agent simulator`` in a child process on a
free loopback port, so its CPU and memory are not counted; every job takes
``--seconds`` there (``POST /_sim/media {"image_seconds": ...}``). The client is one
``Gateway`` with a fresh SQLite journal, running ``Media(gateway, store).images.generate_many``.

Two rounds: "cold" (empty journal: the first poll waits ``PollPolicy.initial``) and
"warm" (the journal now holds the cold round's completion times, so the first poll
waits 0.8 x their median). Polls are counted by the simulator (``GET /_sim/media``).
Peak memory is reported twice: tracemalloc's peak of Python allocations during the
round, and the process's peak resident set (``ru_maxrss``) with the baseline after
imports. Timing is reported, never judged.

    .venv/bin/python bench/media_concurrency.py                # 200 jobs of 10 s
    .venv/bin/python bench/media_concurrency.py --jobs 50 --seconds 3 --quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from alltoken_agent import Gateway, Media, Provider
from alltoken_agent.store import Store

API_KEY = "sk-bench-media-0123456789"
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SimulatorProcess:
    """``python -m alltoken_agent simulator`` on a free loopback port, until ``stop()``."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "alltoken_agent", "simulator", "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the simulator exited at start")
            try:
                if httpx.get(f"{self.root}/_sim/media", timeout=1).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the simulator did not answer on {self.root}")

    def media(self, **changes: Any) -> dict[str, Any]:
        response = httpx.post(f"{self.root}/_sim/media", json=changes, timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def reset(self) -> None:
        httpx.post(f"{self.root}/_sim/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def _round(
    sim: SimulatorProcess, store: Store, folder: Path, jobs: int, seconds: float, size: str
) -> dict[str, Any]:
    sim.reset()
    sim.media(image_seconds=seconds)
    provider = Provider(
        name="bench", base_url=f"{sim.root}/v1", api_key_env=None, dialect="alltoken"
    )
    prompts = [f"fox number {i}" for i in range(jobs)]
    tracemalloc.start()
    tracemalloc.reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    async with Gateway(provider, api_key=API_KEY) as gateway:
        results = await Media(gateway, store).images.generate_many(
            prompts, concurrency=jobs, size=size, save_to=folder
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    failures = [r for r in results if isinstance(r, Exception)]
    snapshot = sim.media()
    polls = list(snapshot["polls"].values()) or [0]
    return {
        "ok": jobs - len(failures),
        "failed": len(failures),
        "first_error": repr(failures[0]) if failures else "",
        "submits": snapshot["submits"].get("image", 0),
        "charges": snapshot["charges"].get("image", 0),
        "polls_total": sum(polls),
        "polls_mean": statistics.mean(polls),
        "polls_max": max(polls),
        "wall_s": wall,
        "cpu_s": cpu,
        "traced_peak_mb": traced_peak / (1024 * 1024),
        "rss_peak_mb": _rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200, help="concurrent image jobs")
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated job duration")
    parser.add_argument("--size", default="256x256", help="image size (the payload grows)")
    parser.add_argument("--quick", action="store_true", help="one (cold) round only")
    args = parser.parse_args()

    sim = SimulatorProcess()
    baseline = _rss_mb()
    try:
        sim.wait_ready()
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["ALLTOKEN_AGENT_HOME"] = tmp  # nothing of the user's is touched
            with Store(f"sqlite:///{Path(tmp) / 'journal.db'}") as store:
                rounds = ["cold"] if args.quick else ["cold", "warm"]
                rows = []
                for name in rounds:
                    folder = Path(tmp) / name
                    row = asyncio.run(
                        _round(sim, store, folder, args.jobs, args.seconds, args.size)
                    )
                    rows.append((name, row))
    finally:
        sim.stop()

    print(
        f"{args.jobs} concurrent image jobs of {args.seconds:g} s ({args.size}), one process; "
        f"RSS after imports {baseline:.1f} MB"
    )
    header = (
        "round  ok  fail  submits  charges  polls/job (mean, max)  wall s  cpu s  "
        "traced peak MB  RSS peak MB"
    )
    print(header)
    for name, r in rows:
        print(
            f"{name:5}  {r['ok']:3} {r['failed']:5}  {r['submits']:7}  {r['charges']:7}  "
            f"{r['polls_mean']:9.2f}, {r['polls_max']:<10}  {r['wall_s']:6.2f}  "
            f"{r['cpu_s']:5.2f}  {r['traced_peak_mb']:14.1f}  {r['rss_peak_mb']:11.1f}"
        )
        if r["first_error"]:
            print(f"  first error: {r['first_error']}")


if __name__ == "__main__":
    main()

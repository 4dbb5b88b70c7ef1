"""CPU per PACED chunk through the server: the per-chunk phase of server_load.py, paced.

``server_load.py``'s "relay CPU per chunk" reads replies whose chunks arrive in bursts
(many per network read), so it prices a chunk's parsing and framing but not the wake-ups
a model's usual pace costs: one upstream read, one task step, one write to the client per
chunk. Here the simulator sends one chunk every ``--delay`` seconds (0.05: the steady
phase's pace) and the same two phases run: N messages of about 200 chunks minus N of
about 20, through ``serve`` and through the raw-bytes relay floor (``relay_floor.py``).
The difference over the extra chunks is what one more paced chunk costs each process.

N (default 100) is kept low enough that the server is not saturated: a saturated server
reads several chunks per wake-up and looks cheaper per chunk than it is at a model's pace.
Process CPU (``/proc``), not wall time, so other work on the machine moves the figures
less; repeat with ``--rounds`` and read the range.

Run ``python bench/paced_chunk.py [-n 100] [--delay 0.05] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import server_load  # the bench next to this one: its processes and clients
from server_load import Child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100, help="messages at once (default 100)")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--rounds", type=int, default=1, help="times to measure (default 1)")
    args = parser.parse_args()
    server_load.CHUNK_SESSIONS = args.n
    with tempfile.TemporaryDirectory(prefix="alltoken-bench-") as folder:
        home = Path(folder)
        env = server_load.bench_env(home)
        py = [sys.executable, "-m", "alltoken_agent"]
        port = server_load._free_port()
        sim = Child(
            [*py, "simulator", "--port", str(port), "--chunk-delay", str(args.delay)],
            env,
            f"http://127.0.0.1:{port}",
            "/_sim/faults",
        )
        children = [sim]
        try:
            relay = server_load.start_relay(env, sim)
            children.append(relay)
            server = server_load._start_server(py, env, sim, f"sqlite:///{home / 'paced.db'}")
            children.append(server)
            print(f"paced chunks ({args.delay:g} s apart), {args.n} messages at once")
            for index in range(args.rounds):
                load = os.getloadavg()[0]
                figures = asyncio.run(server_load.per_chunk(sim, server, relay))
                server_us = figures.get("server_chunk_us")
                floor_us = figures.get("floor_chunk_us")
                short, long = figures["server_chunks"]
                print(
                    f"round {index + 1}: CPU per paced chunk ({long:.0f} minus {short:.0f} "
                    f"chunks a message): server {_us(server_us)}, floor {_us(floor_us)}, "
                    f"ratio {_ratio(server_us, floor_us)}; errors server "
                    f"{figures['server_errors']}, floor {figures['floor_errors']}; "
                    f"load {load:.2f}",
                    flush=True,
                )
        finally:
            for child in reversed(children):
                child.stop()


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} µs"


def _ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or not b else f"{a / b:.2f}x"


if __name__ == "__main__":
    main()

"""Long sessions through the server: CPU per message with many stored turns, against few.

`server_load.py` measures fresh sessions; a chat server's sessions grow. Each size gets
a fresh simulator-backed `serve` (SQLite store, the bench config of `server_load.py`)
and one session seeded straight into the store with that many turns (a user message
and an answer, ~250 and ~450 characters). After three uncounted messages, ``--messages``
more are sent one at a time (JSON replies); the server's CPU over them, from `/proc`,
per message, is printed with the ratio to the smallest size. The model is
`server_load.py`'s (a 204,800-token window in the simulator's catalog): 20,000 turns
(~2.1M tokens) do not fit it, 1,000 turns do.

Run ``python bench/server_long_session.py`` (sizes 10, 1000 and 20000 turns, about a
minute); ``--turns 10,5000`` for others. The exit code is 0: a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import server_load as load
from alltoken_agent.store import Store

QUESTION = "lorem ipsum " * 20
ANSWER = "dolor sit amet " * 30


def _history(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"question {i} {QUESTION}"})
        messages.append({"role": "assistant", "content": f"answer {i} {ANSWER}"})
    return messages


def measure(turns: int, messages: int) -> tuple[float, float]:
    """Server CPU ms and wall ms per message in a session of ``turns`` stored turns."""
    with tempfile.TemporaryDirectory(prefix="alltoken-bench-") as folder:
        home = Path(folder)
        env = load.bench_env(home)
        py = [sys.executable, "-m", "alltoken_agent"]
        port = load._free_port()
        sim = load.Child(
            [*py, "simulator", "--port", str(port)],
            env,
            f"http://127.0.0.1:{port}",
            "/_sim/faults",
        )
        url = f"sqlite:///{home / 'long.db'}"
        server = None
        try:
            server = load._start_server(py, env, sim, url)
            _, api, _ = load._clients(server, server, sim)

            async def run() -> tuple[float, float]:
                [session_id] = await load._create_sessions(api, 1)
                with Store(url) as store:
                    store.sessions.replace_messages(session_id, _history(turns))
                for i in range(3):  # warm: imports, pools, the catalog's windows
                    await load._server_stream(api, session_id, f"warm {i}")
                cpu, wall = server.cpu, time.perf_counter()
                for i in range(messages):
                    await load._server_stream(api, session_id, f"hello {i}")
                return (
                    (server.cpu - cpu) * 1000 / messages,
                    (time.perf_counter() - wall) * 1000 / messages,
                )

            return asyncio.run(run())
        finally:
            if server is not None:
                server.stop()
            sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", default="10,1000,20000", help="session sizes, comma-separated")
    parser.add_argument("--messages", type=int, default=20, help="messages timed per size")
    args = parser.parse_args()
    sizes = [int(part) for part in args.turns.split(",") if part.strip()]
    print(f"server CPU per message, {args.messages} messages per session size (model {load.MODEL})")
    print(f"{'stored turns':>12} {'CPU ms/msg':>11} {'wall ms/msg':>12} {'vs first':>9}")
    first: float | None = None
    for turns in sizes:
        cpu, wall = measure(turns, args.messages)
        first = cpu if first is None else first
        ratio = f"{cpu / first:8.2f}x" if first else "-"
        print(f"{turns:>12,} {cpu:>11.1f} {wall:>12.1f} {ratio:>9}", flush=True)


if __name__ == "__main__":
    main()

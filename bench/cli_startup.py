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

Then `chat` runs against a loopback gateway that answers at once: the time from
process start until its request arrives, the whole run's wall time, and (on Linux,
read from ``/proc`` as the request arrives) the CPU time spent before the request,
which, unlike wall time, a busy machine barely moves. With ``--imports``, one more
`chat` run under ``python -X importtime`` lists the imports before its request.

Every command runs without ``PYTHONDONTWRITEBYTECODE``: an installed package has its
bytecode compiled, and with the variable set, each module edited since its cache was
written would be compiled from source on every run, which measures the compiler.

Run ``python bench/cli_startup.py`` (``-n 50`` for more rounds). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_MS = 150.0
"""The issue's limit for the median of `alltoken-agent --help`."""
CHAT_SENT_MS = 150.0
"""The issue's limit: `chat` sends its request within this long of process start."""
CHAT_WALL_MS = 300.0
"""The issue's limit: a whole `chat` run against an instant gateway."""
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The environment of every measured process: bytecode caches are written and read."""


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
    done = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=CHILD_ENV, check=False
    )
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
    env = {**CHILD_ENV, "PYTHONPROFILEIMPORTTIME": "1"}
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


# -- `chat` against a gateway that answers at once ------------------------------

_CHUNK = (
    '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":0,"model":"bench-1",'
    '"choices":[{"index":0,"delta":%s,"finish_reason":%s}],"usage":%s}'
)
_REPLY = "".join(
    f"data: {chunk}\n\n"
    for chunk in (
        _CHUNK % ('{"role":"assistant","content":"hello"}', "null", "null"),
        _CHUNK % ("{}", '"stop"', "null"),
        _CHUNK % ("{}", "null", '{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}'),
        "[DONE]",
    )
).encode() + (
    # AllToken's cost comment after [DONE] (docs/wire-format.md §1.5): with the cost
    # reported, the ledger needs no price lookup.
    b': {"cost":"0.0000188000","prompt_tokens":9,"completion_tokens":1}\n\n'
)


class InstantGateway:
    """A loopback HTTP/1.1 server that answers a streamed chat at once (the floor's peer).

    The reply is AllToken's: content, finish, usage, ``[DONE]`` and the cost comment.

    It notes when each chat request arrives (``time.time()``), so a run's "request
    sent" moment can be set against the moment its process was started. Anything
    other than a chat completion gets a 404 error envelope at once.
    """

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.pid: int | None = None
        """The process whose CPU time is read when its chat request arrives."""
        self.cpu_at_arrival: list[float | None] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn, reader:
            while True:
                line = reader.readline()
                if not line:
                    return
                path = line.split(b" ")[1] if b" " in line else b""
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                reader.read(length)
                if path.endswith(b"/chat/completions"):
                    self.arrivals.append(time.time())
                    self.cpu_at_arrival.append(process_cpu_ms(self.pid))
                    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    body = _REPLY
                else:
                    head = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
                    body = b'{"error":{"code":"not_found","message":"no such route"}}'
                conn.sendall(head + b"content-length: %d\r\n\r\n" % len(body) + body)

    def close(self) -> None:
        self._server.close()


def process_cpu_ms(pid: int | None) -> float | None:
    """User + system CPU milliseconds ``pid`` has used so far (Linux ``/proc``), else None.

    Read while the process runs, when its request arrives: what it spent before sending,
    whatever else the machine is doing (in clock ticks, 10 ms on most systems).
    """
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def measure_chat(
    program: str, rounds: int, warmup: int, tools: str = "none"
) -> tuple[list[float], list[float], list[float], list[float]]:
    """`chat` runs against :class:`InstantGateway`: wall ms, ms until the request, CPU ms,
    and CPU ms until the request (empty where ``/proc`` is not there).

    The CPU time (user + system of the child) is what a run costs whatever else the
    machine is doing; wall times grow with the load of a shared machine.
    """
    gateway = InstantGateway()
    walls: list[float] = []
    sent: list[float] = []
    cpu: list[float] = []
    cpu_sent: list[float] = []
    argv = [program, "chat", "--base-url", gateway.base_url, "-m", "bench-1", "--tools", tools]
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {**CHILD_ENV, "ALLTOKEN_AGENT_HOME": home, "ALLTOKEN_API_KEY": "bench-key"}
            for index in range(warmup + rounds):
                before = len(gateway.arrivals)
                used = resource.getrusage(resource.RUSAGE_CHILDREN)
                started_at, started = time.time(), time.perf_counter()
                child = subprocess.Popen(
                    [*argv, "hi"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
                )
                gateway.pid = child.pid
                stdout, stderr = child.communicate()
                elapsed = (time.perf_counter() - started) * 1000
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                if child.returncode != 0 or b"hello" not in stdout:
                    sys.exit(f"chat exited {child.returncode}: {stderr.decode()[-1000:]}")
                if index >= warmup:
                    walls.append(elapsed)
                    sent.append((gateway.arrivals[before] - started_at) * 1000)
                    cpu.append(
                        (after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000
                    )
                    at_request = gateway.cpu_at_arrival[before]
                    if at_request is not None:
                        cpu_sent.append(at_request)
    finally:
        gateway.close()
    return walls, sent, cpu, cpu_sent


_MARKED_CHAT = """
import os, sys
sent = []


def mark(event, args):
    if event == "socket.connect" and not sent:
        sent.append(True)
        os.write(2, b"=== request\\n")  # unbuffered, in order with importtime's lines


sys.addaudithook(mark)
from alltoken_agent.cli import main

sys.argv = ["alltoken-agent", *sys.argv[1:]]
main()
"""
"""``chat`` with a line on stderr as it connects: the imports above it came first."""


def chat_imports() -> tuple[int, list[tuple[str, float, float]]]:
    """The modules ``chat`` imports before its request: (count, [(name, self ms, cumulative ms)]).

    One run under ``-X importtime`` against :class:`InstantGateway`, after one unmeasured
    run. A module loaded by ``importlib.import_module`` (the packages' lazy exports) is
    not listed by importtime itself; its own time is in nobody's row, its imports are.
    """
    gateway = InstantGateway()
    argv = [
        sys.executable,
        "-X",
        "importtime",
        "-c",
        _MARKED_CHAT,
        "chat",
        "--base-url",
        gateway.base_url,
        "-m",
        "bench-1",
        "--tools",
        "none",
        "hi",
    ]
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {**CHILD_ENV, "ALLTOKEN_AGENT_HOME": home, "ALLTOKEN_API_KEY": "bench-key"}
            for _ in range(2):
                done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    finally:
        gateway.close()
    if done.returncode != 0:
        sys.exit(f"chat exited {done.returncode}: {done.stderr[-1000:]}")
    rows: list[tuple[str, float, float]] = []
    for line in done.stderr.splitlines():
        if line.startswith("=== request"):
            break
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        own, cumulative, name = line.split(":", 1)[1].split("|")
        rows.append((name.strip(), int(own) / 1000, int(cumulative) / 1000))
    return len(rows), rows


def report_chat_imports(count: int = 15) -> None:
    """Print the imports before ``chat``'s request with the largest own time."""
    modules, rows = chat_imports()
    total = sum(own for _, own, _ in rows)
    print(
        f"chat's imports before its request (-X importtime, one run): {modules} modules, "
        f"{total:.0f} ms of their own time; the {count} slowest by own time (ms, own/cumulative):"
    )
    for name, own, cumulative in sorted(rows, key=lambda row: -row[1])[:count]:
        print(f"  {own:6.1f} {cumulative:7.1f}  {name}")


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
    parser.add_argument("--no-chat", action="store_true", help="skip the chat runs")
    args = parser.parse_args()
    program = find_program()
    chosen = commands(program)
    times = measure(chosen, args.rounds, args.warmup)
    report(times, args.rounds)
    if not args.no_chat:
        chat_rounds = max(5, args.rounds // 3)
        walls, sent, cpu, cpu_sent = measure_chat(program, chat_rounds, 1)
        floor = statistics.median(times["python -c pass"])
        wall, first = statistics.median(walls), statistics.median(sent)
        print(f"chat against an instant gateway, {chat_rounds} runs (median ms, p10-p90):")
        for label, values, target in (
            ("request sent after start", sent, CHAT_SENT_MS),
            ("whole run, wall", walls, CHAT_WALL_MS),
        ):
            median = statistics.median(values)
            spread = f"{percentile(values, 0.1):.0f}-{percentile(values, 0.9):.0f}"
            print(
                f"  {label:<26} {median:7.1f} {spread:>11} {median / floor:7.2f}x python "
                f"(target <= {target:.0f} ms)"
            )
        for label, values in (
            ("CPU until the request", cpu_sent),
            ("whole run, CPU (user+sys)", cpu),
        ):
            if values:  # the first needs Linux's /proc
                spread = f"{percentile(values, 0.1):.0f}-{percentile(values, 0.9):.0f}"
                print(f"  {label:<26} {statistics.median(values):7.1f} {spread:>11}")
        # What a plain `chat PROMPT` runs with: the clock and calculator described in the
        # request (their schemas are written out; nothing is validated until a call).
        _, default_sent, _, default_cpu = measure_chat(program, chat_rounds, 1, "default")
        spread = f"{percentile(default_sent, 0.1):.0f}-{percentile(default_sent, 0.9):.0f}"
        median = statistics.median(default_sent)
        line = f"  {'same, default tools: sent':<26} {median:7.1f} {spread:>11}"
        if default_cpu:
            line += f"   CPU until the request {statistics.median(default_cpu):.1f}"
        print(line)
        verdict = "PASS" if wall <= CHAT_WALL_MS and first <= CHAT_SENT_MS else "FAIL"
        print(f"{verdict} chat: request sent at {first:.0f} ms, whole run {wall:.0f} ms")
    if args.imports:
        for label, argv in chosen.items():
            if label.startswith("alltoken-agent"):
                slow = ", ".join(f"{name} {ms:.1f}" for name, ms in slowest_imports(argv))
                print(f"slowest imports, {label} (cumulative ms): {slow}")
        if not args.no_chat:
            report_chat_imports()


if __name__ == "__main__":
    main()

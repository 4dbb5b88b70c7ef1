"""Every fault the simulator knows, with a gateway that echoes the key: the key never leaves.

The simulator's `echo_key` switch makes every reply repeat the caller's key in its
request ids (header and body), every error field and the reply text, whatever the
fault. For each fault of the vocabulary (read from the simulator's own list, so a new
fault is swept without touching this file) the CLI (`chat --json --usage-file`, plain
`chat`, `check`, `batch` and its store tables), the Python API (a gateway's chat and an
instrumented agent's streamed run), `serve` (JSON and event-stream replies, the skill's
`POST /chat`), the MCP server over stdio (a real key, the `chat` tool) and the media
commands run against it, and the key is looked for in stdout and stderr, every file
written (every text column of every SQLite table too), every OpenTelemetry span, every
HTTP reply, every MCP tool result and every attribute of the errors. The faults that
never end (`ping_forever`, `trickle`) end at the short deadlines of `[timeouts]`.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from pydantic import SecretStr

from alltoken_agent import Agent, Gateway, GatewayError, RetryPolicy
from alltoken_agent.config import TimeoutSettings
from alltoken_agent.server import ServerOptions, create_app
from alltoken_agent.simulator.faults import STATUS_FAULTS, FaultKind, FaultSpecError, parse_fault
from alltoken_agent.simulator.job_faults import JobFaultKind, JobFaultSpecError, parse_job_fault
from alltoken_agent.simulator.validation import REJECTIONS_ENV
from alltoken_agent.store import Store
from tests.cli.helpers import run_cli, write_config
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.server.conftest import KEY_A, ServerThread, create_session

PIECES = [TEST_KEY, TEST_KEY[3:19], TEST_KEY[19:]]
"""The key, and pieces of it long enough to recognise."""

TIMEOUTS = TimeoutSettings(connect=2, read=0.5, idle=0.5, total=2)
"""Short enough that the faults that never end (`ping_forever`, `trickle`) end quickly."""

CONFIG = (
    "[retry]\nmax_retries = 1\nbase_delay = 0\nmax_delay = 0\n"
    "[timeouts]\nconnect = 2\nread = 0.5\nidle = 0.5\ntotal = 2\n"
)
NEVER_ENDING = {"ping_forever", "trickle"}
"""Faults whose reply only our own idle and total deadlines end (see ``TIMEOUTS``): the
slow cases of the sweep, run where a deadline is what is tested."""

# Values for the placeholders of the vocabulary's spec list (`stall:N:S`, ...).
_PLACEHOLDERS = {
    "N": "1",
    "S": "0.05",
    "MB": "1",
    "VALUE": "-1",
    "FIELD=VALUE": "prompt_tokens=-5",
}


def vocabulary() -> list[str]:
    """One spec per entry of the simulator's list of known faults, placeholders filled.

    The list is the one `parse_fault` gives in its error, which names every form.
    """
    try:
        parse_fault("?")
    except FaultSpecError as error:
        listed = str(error).split("known: ", 1)[1]
    else:  # pragma: no cover - "?" is no fault
        raise AssertionError("'?' parsed as a fault")
    specs = []
    for entry in listed.split(", "):
        entry = re.sub(r"\[[^\]]*\]", "", entry.strip())  # optional parts left out
        head, *args = entry.split(":")
        filled = [_PLACEHOLDERS.get(arg, arg) for arg in args]
        specs.append(":".join([head, *filled]))
    specs += [str(status) for status in STATUS_FAULTS]
    return list(dict.fromkeys(specs))


FAULTS = vocabulary()


def job_vocabulary() -> list[str]:
    """One spec per entry of the simulator's list of media job faults (`X-Sim-Job-Fault`)."""
    try:
        parse_job_fault("?")
    except JobFaultSpecError as error:
        listed = str(error).split("known: ", 1)[1]
    else:  # pragma: no cover - "?" is no job fault
        raise AssertionError("'?' parsed as a job fault")
    listed = re.sub(r"\([^)]*\)", "", listed)  # "(MB up to ...)" remarks
    values = {"<code>": "upstream_content_violation", "<seconds>": "0.05", "<MB>": "1"}
    specs = []
    for entry in listed.split(", "):
        head, *args = entry.strip().split(":")
        specs.append(":".join([head, *(values.get(arg, "1") for arg in args)]))
    return specs


JOB_FAULTS = job_vocabulary()


def test_the_sweep_covers_every_kind_of_fault() -> None:
    kinds = {parse_fault(spec).kind for spec in FAULTS}
    assert kinds == set(get_args(FaultKind))
    assert {parse_fault(spec).status for spec in FAULTS} >= set(STATUS_FAULTS)
    assert {parse_job_fault(spec).kind for spec in JOB_FAULTS} == set(get_args(JobFaultKind))


def leaks(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


def error_texts(error: BaseException, seen: set[int] | None = None) -> Iterator[str]:
    """Everything reachable from an error: its text, args, attributes, cause and context."""
    seen = set() if seen is None else seen
    if id(error) in seen:
        return
    seen.add(id(error))
    yield str(error)
    yield repr(error)
    yield from map(repr, error.args)
    for value in vars(error).values():
        yield repr(value)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, BaseException):
                yield from error_texts(item, seen)
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            yield repr(linked)
            if isinstance(linked, GatewayError):
                yield from error_texts(linked, seen)
            else:
                # A foreign exception (httpx's) holds the request and its headers.
                yield f"foreign {type(linked).__name__} linked to {type(error).__name__}"


def database_texts(path: Path) -> Iterator[str]:
    """Every text value of every table in a SQLite file."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        yield value


def files_texts(root: Path) -> Iterator[str]:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if raw.startswith(b"SQLite format 3"):
            yield from (f"{path.name}: {text}" for text in database_texts(path))
        yield f"{path.name}: " + raw.decode("utf-8", "replace")


def echo_everything(sim: Any, fault: str, copies: int = 2) -> None:
    sim.state.reset()
    sim.state.echo_key = True
    sim.state.enqueue_faults([fault] * copies)


def assert_fault_applied(sim: Any, fault: str) -> None:
    applied = [r.fault for r in sim.state.requests if r.fault]
    assert parse_fault(fault).spec in applied, (fault, applied)


@pytest.fixture(scope="module")
def echo_server(alltoken_sim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`serve` on the simulator, with TEST_KEY as its gateway key (the one echoed)."""
    folder = tmp_path_factory.mktemp("serve")
    gateway = Gateway(
        "alltoken",
        base_url=alltoken_sim.base_url,
        api_key=TEST_KEY,
        retry=RetryPolicy(max_retries=1, base_delay=0, max_delay=0),
        timeout=TIMEOUTS,
    )
    store = Store(f"sqlite:///{folder / 'server.db'}")
    options = ServerOptions(
        keys=(SecretStr(KEY_A),), rate_limit_per_minute=60000, rate_limit_burst=10000
    )
    server = ServerThread(create_app(gateway, store, options=options), gateway, store)
    yield server, folder
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_the_cli_shows_and_saves_no_key(sim: Any, isolated_environment: Path, fault: str) -> None:
    write_config(isolated_environment, CONFIG)
    usage_file = isolated_environment / "usage.json"
    seen: list[str] = []
    for flags in (["--json", "--usage-file", str(usage_file)], []):
        echo_everything(sim, fault)
        result = run_cli(
            "chat",
            "--base-url",
            sim.base_url,
            *flags,
            "hi",
            env={"ALLTOKEN_API_KEY": TEST_KEY, "ALLTOKEN_AGENT_DEBUG": "1"},
        )
        assert_fault_applied(sim, fault)
        seen += [result.stdout, result.stderr]
    # `check` ends a reply that never ends at the `[timeouts]` deadlines too.
    echo_everything(sim, fault)
    result = run_cli("check", "--base-url", sim.base_url, env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert_fault_applied(sim, fault)
    seen += [result.stdout, result.stderr]
    seen += files_texts(isolated_environment)
    assert any("***" in text for text in seen), "the echoed key was seen masked somewhere"
    assert [leaks(text) for text in seen if leaks(text)] == []


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
async def test_the_python_api_and_its_spans_hold_no_key(
    sim: Any, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from alltoken_agent.tracing import instrument
    from tests.tracing.helpers import attribute_text

    caplog.set_level("DEBUG")
    seen: list[str] = []
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # One retry, as elsewhere in the sweep: two would outlast the total deadline on a
    # 429 (Retry-After: 1), and its masked error would never be seen.
    one_retry = RetryPolicy(max_retries=1, base_delay=0, max_delay=0)
    async with gateway_for(sim, timeout=TIMEOUTS, retry=one_retry) as gateway:
        echo_everything(sim, fault)
        try:
            seen.append(repr(await gateway.chat(user("hi"))))
        except GatewayError as error:
            seen += error_texts(error)
        assert_fault_applied(sim, fault)

        echo_everything(sim, fault)
        agent = Agent(gateway=gateway)
        with instrument(agent, tracer_provider=provider, capture_content=True):
            try:
                async for event in agent.stream("hi"):
                    seen.append(repr(event))
            except GatewayError as error:
                seen += error_texts(error)
        seen.append(repr(agent.get_messages()))
        assert_fault_applied(sim, fault)
    provider.shutdown()
    spans = exporter.get_finished_spans()
    assert spans
    seen.append(attribute_text(spans))
    seen += [json.dumps([event.attributes for span in spans for event in span.events], default=str)]
    seen.append(caplog.text)
    assert any("***" in text for text in seen), "the echoed key was seen masked somewhere"
    assert [leaks(text) for text in seen if leaks(text)] == []
    assert not [text for text in seen if text.startswith("foreign ")]


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_serve_returns_and_stores_no_key(echo_server: Any, sim: Any, fault: str) -> None:
    server, folder = echo_server
    seen: list[str] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append(response.text)
        seen.append(json.dumps(dict(response.headers)))

    with httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {KEY_A}"},
        event_hooks={"response": [keep]},
        timeout=30,
    ) as client:
        session_id = create_session(client)
        echo_everything(sim, fault)
        client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
        assert_fault_applied(sim, fault)
        echo_everything(sim, fault)
        client.post(
            f"/v1/sessions/{session_id}/messages",
            json={"content": "hi"},
            headers={"Accept": "text/event-stream"},
        )
        assert_fault_applied(sim, fault)
        echo_everything(sim, fault)
        # The skill's contract: one agent per session id, its reply and whole history.
        client.post("/chat", json={"sessionId": f"sweep {fault}", "message": "hi"})
        assert_fault_applied(sim, fault)
        for path in (f"/v1/sessions/{session_id}", "/v1/sessions", "/v1/usage"):
            client.get(path)
    seen += files_texts(folder)
    assert len(seen) >= 12
    assert any("***" in text for text in seen), "the echoed key was seen masked somewhere"
    assert [leaks(text) for text in seen if leaks(text)] == []


def batch_tables(root: Path) -> dict[str, int]:
    """Rows per batch table of every SQLite store under root (the journal the sweep read)."""
    counts: dict[str, int] = {}
    for path in root.rglob("*.db"):
        with sqlite3.connect(path) as db:
            names = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
            for (name,) in names:
                if "batch" in name:
                    counts[name] = db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
    return counts


BATCH_CASES = [
    *(("batch", fault) for fault in FAULTS),
    *(("worker", fault) for fault in FAULTS if parse_fault(fault).kind not in NEVER_ENDING),
]
"""`batch` runs its lines under every fault; `worker` (queued lines, the same runner) under
every fault but the slow never-ending ones, which `batch` already ends at its deadlines."""


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "fault"), BATCH_CASES)
def test_batch_writes_and_journals_no_key(
    sim: Any, isolated_environment: Path, mode: str, fault: str
) -> None:
    write_config(isolated_environment, CONFIG)
    source = isolated_environment / "in.jsonl"
    source.write_text('{"prompt": "hi", "id": "a"}\n{"prompt": "hi too", "id": "b"}\n')
    out = isolated_environment / "out.jsonl"
    env = {"ALLTOKEN_API_KEY": TEST_KEY, "ALLTOKEN_AGENT_DEBUG": "1"}
    common = ["--base-url", sim.base_url, "--tools", "none", "--concurrency", "1"]
    seen: list[str] = []
    if mode == "worker":
        queued = run_cli("batch", str(source), "--queue", *common, env=env)
        assert queued.exit_code == 0, queued.stderr
        echo_everything(sim, fault, copies=4)  # two lines, each with one retry
        worked = run_cli("worker", "--base-url", sim.base_url, "--concurrency", "1", env=env)
        assert_fault_applied(sim, fault)
        seen += [worked.stdout, worked.stderr]
        sim.state.reset()  # collecting sends nothing: the lines are finished
    else:
        echo_everything(sim, fault, copies=4)
    result = run_cli("batch", str(source), "-o", str(out), *common, env=env)
    if mode == "batch":
        assert_fault_applied(sim, fault)
    # The output file, any `.partial` left beside it, stderr and the store's batch tables
    # (every text column) are all read; a finished run has removed its `.partial`, whose
    # lines are the same outputs the journal keeps.
    assert out.exists(), result.stderr
    tables = batch_tables(isolated_environment)
    assert tables and any(tables.values()), tables
    seen += [result.stdout, result.stderr, *files_texts(isolated_environment)]
    assert any("***" in text for text in seen), "the echoed key was seen masked somewhere"
    assert [leaks(text) for text in seen if leaks(text)] == []


MCP_MEDIA_FAULTS = [
    fault
    for fault in ("echo_key", "leak_key", "401", "503", "html502", "json200", "ping_forever")
    if fault in FAULTS
]
"""Faults the MCP media tools are swept under: one per place the key comes back (request
ids, an error envelope, a header, a non-JSON body, a wrong reply, a reply never ending)."""


@pytest.mark.slow
async def test_the_mcp_server_over_stdio_returns_and_stores_no_key(
    sim: Any, isolated_environment: Path
) -> None:
    """`alltoken-agent mcp` with a real key and the simulator as its gateway, every fault.

    One server process serves the whole vocabulary (a process per fault would make this
    the slowest part of the sweep); its tool results, stderr and store are read.
    """
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    write_config(isolated_environment, CONFIG)
    env = {
        "ALLTOKEN_AGENT_HOME": str(isolated_environment),
        "ALLTOKEN_API_KEY": TEST_KEY,
        "ALLTOKEN_AGENT_DEBUG": "1",
    }
    if REJECTIONS_ENV in os.environ:
        env[REJECTIONS_ENV] = os.environ[REJECTIONS_ENV]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "alltoken_agent", "mcp", "--base-url", sim.base_url],
        env=env,
        cwd=str(isolated_environment),
    )
    seen: list[str] = []
    log = isolated_environment / "server-stderr.log"
    with open(log, "w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                for fault in FAULTS:
                    echo_everything(sim, fault)
                    result = await session.call_tool("chat", {"prompt": "hi", "session": "s"})
                    assert_fault_applied(sim, fault)
                    seen.append(result.model_dump_json())
                for fault in MCP_MEDIA_FAULTS:
                    echo_everything(sim, fault)
                    sim.state.media.image_seconds = 0.05
                    result = await session.call_tool("generate_image", {"prompt": "a fox"})
                    assert_fault_applied(sim, fault)
                    seen.append(result.model_dump_json())
                    models = await session.call_tool("list_models", {})
                    seen.append(models.model_dump_json())
                sim.state.reset()
                usage = await session.call_tool("usage", {"since": "1h", "by": "session"})
                seen.append(usage.model_dump_json())
    assert len(seen) == len(FAULTS) + 2 * len(MCP_MEDIA_FAULTS) + 1
    seen += files_texts(isolated_environment)
    assert any("***" in text for text in seen), "the echoed key was seen masked somewhere"
    assert [leaks(text) for text in seen if leaks(text)] == []


MEDIA_CASES = [
    *(("image", fault, None) for fault in FAULTS),
    *(("video", fault, None) for fault in FAULTS if parse_fault(fault).kind in NEVER_ENDING),
    *((kind, None, job) for job in JOB_FAULTS for kind in ("image", "video")),
]
"""`image` under every fault, `video` under the never-ending ones (both end them at the
`[timeouts]` deadlines), and both under every job fault."""


@pytest.mark.slow
@pytest.mark.parametrize(("command", "fault", "job_fault"), MEDIA_CASES)
def test_media_commands_show_and_save_no_key(
    sim: Any, isolated_environment: Path, command: str, fault: str | None, job_fault: str | None
) -> None:
    write_config(isolated_environment, CONFIG)
    sim.state.reset()
    sim.state.media.image_seconds = 0.05
    sim.state.media.video_seconds = 0.1
    sim.state.echo_key = True
    if fault is not None:
        sim.state.enqueue_faults([fault] * 2)
    if job_fault is not None:
        sim.state.media.enqueue_job_faults([job_fault])
    result = run_cli(
        command,
        "a fox",
        "-o",
        str(isolated_environment / "out"),
        "--base-url",
        sim.base_url,
        "--json",
        env={"ALLTOKEN_API_KEY": TEST_KEY, "ALLTOKEN_AGENT_DEBUG": "1"},
    )
    if fault is not None:
        assert_fault_applied(sim, fault)
    seen = [result.stdout, result.stderr, *files_texts(isolated_environment)]
    if fault is not None and parse_fault(fault).kind in NEVER_ENDING:
        # Only the headers carry the key, and a timeout names no request id: what shows
        # is that the deadline ended the command (exit 6) with nothing of the key out.
        assert result.exit_code == 6, (result.exit_code, result.stderr)
    elif any(r.status is not None for r in sim.state.requests):  # a reply came, echoing
        assert any("***" in text for text in seen), "the echoed key was seen masked somewhere"
    assert [leaks(text) for text in seen if leaks(text)] == []

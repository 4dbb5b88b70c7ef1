"""`alltoken-agent batch`: one turn per JSONL line, in order, under a budget, resumable.

The CLI runs in-process against the session simulator; the SIGKILL test runs it as a
child process, since only a real process can be killed mid-request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.money import format_usd
from alltoken_agent.store import Store
from alltoken_agent.store.batches import BatchRepository
from tests.cli.helpers import run_cli
from tests.gateway.helpers import TEST_KEY

KEY_ENV = {"ALLTOKEN_API_KEY": TEST_KEY}


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def _outputs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _chat_prompts(sim: Any) -> list[str]:
    """The user message of every chat request the simulator received, in arrival order."""
    prompts = []
    for request in sim.state.requests:
        if request.path.endswith("/chat/completions") and isinstance(request.json, dict):
            users = [m for m in request.json["messages"] if m.get("role") == "user"]
            prompts.append(users[-1]["content"])
    return prompts


def _batch(sim: Any, *args: str) -> Any:
    return run_cli("batch", *args, "--base-url", sim.base_url, "--tools", "none", env=KEY_ENV)


@pytest.mark.slow
def test_output_keeps_input_order_with_concurrency(sim: Any, tmp_path: Path) -> None:
    lines = [{"prompt": f"[[reply answer {n}]]", "id": f"q{n}"} for n in range(1, 9)]
    source = _write(tmp_path / "in.jsonl", lines)
    # The first replies are the slowest, so the lines finish out of order.
    sim.state.enqueue_faults(["slow:0", "slow:0.4", "slow:0.3", "slow:0.2"])
    out = tmp_path / "out.jsonl"

    result = _batch(sim, str(source), "-o", str(out), "--concurrency", "4")

    assert result.exit_code == 0, result.stderr
    outputs = _outputs(out)
    assert [o["line"] for o in outputs] == list(range(1, 9))
    assert [o["id"] for o in outputs] == [f"q{n}" for n in range(1, 9)]
    assert [o["text"] for o in outputs] == [f"answer {n}" for n in range(1, 9)]
    assert all(o["error"] is None and o["usage"]["total_tokens"] > 0 for o in outputs)
    assert all(o["cost"] is not None and float(o["cost"]) > 0 for o in outputs)
    assert not (tmp_path / "out.jsonl.partial").exists()
    assert "8 ok, 0 failed" in result.stderr
    assert sorted(_chat_prompts(sim)) == sorted(line["prompt"] for line in lines)


def test_bad_lines_become_error_lines_and_the_good_ones_run(sim: Any, tmp_path: Path) -> None:
    source = _write(
        tmp_path / "in.jsonl",
        [
            {"prompt": "[[reply fine]]"},
            "this is not json",
            {"id": 7, "model": "x"},
            {"prompt": "hi", "tools": ["no_such_tool"]},
            "[1, 2]",
            {"prompt": "hi", "promt": "typo"},
        ],
    )
    out = tmp_path / "out.jsonl"

    result = _batch(sim, str(source), "-o", str(out))

    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    outputs = _outputs(out)
    assert [o["line"] for o in outputs] == [1, 2, 3, 4, 5, 6]
    assert outputs[0]["text"] == "fine" and outputs[0]["error"] is None
    codes = [o["error"]["code"] for o in outputs[1:]]
    assert codes == ["invalid_line"] * 5
    assert outputs[2]["id"] == 7  # an error line still names its id
    assert "no prompt" in outputs[2]["error"]["message"]
    assert "no_such_tool" in outputs[3]["error"]["message"]
    assert all(o["cost"] is None and o["usage"] is None for o in outputs[1:])
    assert _chat_prompts(sim) == ["[[reply fine]]"]


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00", b'{"prompt": "caf\xe9"}\n'])
def test_a_binary_or_non_utf8_input_file_is_exit_2(sim: Any, tmp_path: Path, data: bytes) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(data)
    out = tmp_path / "out.jsonl"

    result = _batch(sim, str(source), "-o", str(out))

    assert result.exit_code == 2
    assert result.stderr.startswith("error: the input file")
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert _chat_prompts(sim) == []


def test_a_rerun_sends_nothing_already_done_and_repeats_its_output(
    sim: Any, tmp_path: Path
) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply r{n}]]"} for n in range(3)])
    out = tmp_path / "out.jsonl"
    assert _batch(sim, str(source), "-o", str(out)).exit_code == 0
    first = out.read_text()
    assert len(_chat_prompts(sim)) == 3

    again = _batch(sim, str(source), "-o", str(out))

    assert again.exit_code == 0, again.stderr
    assert out.read_text() == first
    assert len(_chat_prompts(sim)) == 3  # nothing sent again


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_budget_stops_new_lines_before_it_is_crossed(
    sim: Any, tmp_path: Path, concurrency: str
) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply b{n}]]"} for n in range(4)])
    probe = _write(tmp_path / "probe.jsonl", [{"prompt": "[[reply b0]]"}])
    assert _batch(sim, str(probe), "-o", str(tmp_path / "probe.out")).exit_code == 0
    one_line = float(_outputs(tmp_path / "probe.out")[0]["cost"])
    sim.state.reset()
    out = tmp_path / "out.jsonl"

    # Room for one line and a half: the second would cross it.
    budget = f"{one_line * 1.5:.12f}"
    result = _batch(
        sim, str(source), "-o", str(out), "--concurrency", concurrency, "--budget", budget
    )

    assert result.exit_code == 7, result.stderr
    outputs = _outputs(out)
    assert outputs[0]["text"] == "b0"
    assert [o["error"]["code"] for o in outputs[1:]] == ["budget_exceeded"] * 3
    assert all(o["cost"] is None for o in outputs[1:])
    shown = format_usd(Decimal(budget))  # as people read money, never as 1E-7
    assert f"could cross the batch budget of {shown};" in outputs[1]["error"]["message"]
    assert len(_chat_prompts(sim)) == 1
    assert "3 not run (budget)" in result.stderr

    # A larger budget runs the rest; the first line is not paid again.
    more = _batch(sim, str(source), "-o", str(out), "--concurrency", "1", "--budget", "1")
    assert more.exit_code == 0, more.stderr
    assert [o["text"] for o in _outputs(out)] == ["b0", "b1", "b2", "b3"]
    assert sorted(_chat_prompts(sim)) == [f"[[reply b{n}]]" for n in range(4)]


def test_a_schema_asks_for_json_and_returns_it_as_output(sim: Any, tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    source = _write(tmp_path / "in.jsonl", [{"prompt": "Name a city."}])
    out = tmp_path / "out.jsonl"

    result = _batch(sim, str(source), "-o", str(out), "--schema", str(schema_file))

    assert result.exit_code == 0, result.stderr
    [output] = _outputs(out)
    assert isinstance(output["output"], dict) and isinstance(output["output"]["name"], str)
    [request] = [r for r in sim.state.requests if r.path.endswith("/chat/completions")]
    assert request.json["response_format"]["json_schema"]["schema"] == schema


@pytest.mark.slow
def test_a_batch_killed_mid_line_resumes_without_paying_a_finished_line_twice(
    sim: Any, tmp_path: Path
) -> None:
    prompts = [f"[[reply k{n}]]" for n in range(5)]
    source = _write(tmp_path / "in.jsonl", [{"prompt": p} for p in prompts])
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", sim.base_url, "--tools", "none"]
    sim.state.enqueue_faults(["slow:0.3"] * 50)  # slow enough to watch it go
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", *args, "--concurrency", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **KEY_ENV},
    )
    partial = tmp_path / "out.jsonl.partial"
    try:
        # Two lines done, then every later reply stalls: the kill lands mid-request.
        while not partial.exists() or len(partial.read_text().splitlines()) < 2:
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            time.sleep(0.05)
        while sim.state.pop_fault() is not None:
            pass
        sim.state.enqueue_faults(["stall:1:60"] * 10)
        while not any((r.fault or "").startswith("stall") for r in sim.state.requests):
            assert child.poll() is None
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()
    while sim.state.pop_fault() is not None:
        pass
    with Store() as store:  # the child's journal, in this test's ALLTOKEN_AGENT_HOME
        done_before = {
            item.line
            for item in BatchRepository.of(store).items(_run_id(store))
            if item.status == "done"
        }
    assert len(done_before) >= 2

    result = _batch(sim, str(source), "-o", str(out), "--concurrency", "1")

    assert result.exit_code == 0, result.stderr
    assert [o["text"] for o in _outputs(out)] == [f"k{n}" for n in range(5)]
    sent = _chat_prompts(sim)
    for line in done_before:
        assert sent.count(prompts[line - 1]) == 1  # paid once, in the first run
    # The line cut off by the kill got no reply, so it is sent again: once.
    assert sorted(set(sent)) == sorted(prompts)
    assert len(sent) == len(prompts) + 1


def _run_id(store: Store) -> str:
    import sqlalchemy as sa

    from alltoken_agent.store.schema import batch_runs

    with store._db.read() as conn:
        return str(conn.scalar(sa.select(batch_runs.c.id)))


def test_piped_stderr_is_one_summary_line(sim: Any, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply p{n}]]"} for n in range(3)])

    result = _batch(sim, str(source), "-o", str(tmp_path / "out.jsonl"))

    assert result.exit_code == 0
    assert result.stderr.splitlines() == [result.stderr.strip()]  # no progress bar, no notices
    assert result.stderr.startswith("alltoken-agent: batch of 3 lines: 3 ok, 0 failed; ")
    assert result.stdout == ""


@pytest.mark.slow
def test_a_terminal_shows_a_progress_bar_with_spend(tmp_path: Path) -> None:
    from tests.cli.test_terminal import run_on_terminal

    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply t{n}]]"} for n in range(3)])

    shown = run_on_terminal(
        "batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--offline", no_color=True
    )

    assert "3/3" in shown  # the bar's lines done
    assert "spent $" in shown and "(simulated)" in shown
    assert len(_outputs(tmp_path / "out.jsonl")) == 3


def test_offline_spend_is_said_to_be_simulated(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": "[[reply off]]"}])
    out = tmp_path / "out.jsonl"

    result = run_cli("batch", str(source), "-o", str(out), "--offline", "--tools", "none")

    assert result.exit_code == 0, result.stderr
    assert result.stderr.rstrip().endswith("(simulated)")
    assert _outputs(out)[0]["text"] == "off"


def test_an_authentication_error_stops_new_lines_with_exit_3(sim: Any, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply a{n}]]"} for n in range(5)])
    sim.state.enqueue_faults(["401"] * 5)
    out = tmp_path / "out.jsonl"

    result = _batch(sim, str(source), "-o", str(out), "--concurrency", "1")

    assert result.exit_code == 3, result.stderr
    outputs = _outputs(out)
    assert outputs[0]["error"]["status"] == 401
    assert [o["error"]["code"] for o in outputs[1:]] == ["not_run"] * 4
    assert len(_chat_prompts(sim)) == 1  # not one request per line against a bad key
    assert TEST_KEY not in out.read_text() and TEST_KEY not in result.stderr


@pytest.mark.slow
def test_a_failed_line_is_kept_unless_retry_failed_is_given(sim: Any, tmp_path: Path) -> None:
    schema = {"type": "object"}
    lines = [{"prompt": '[[reply {"a": 1}]]', "schema": schema}]
    lines.append({"prompt": "[[reply not json]]", "schema": schema})
    source = _write(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    first = _batch(sim, str(source), "-o", str(out))
    assert first.exit_code == 1, first.stderr
    outputs = _outputs(out)
    assert outputs[0]["output"] == {"a": 1} and outputs[0]["error"] is None
    assert outputs[1]["error"]["code"] == "invalid_output"
    assert outputs[1]["text"] == "not json" and outputs[1]["cost"] is not None

    again = _batch(sim, str(source), "-o", str(out))
    assert again.exit_code == 1
    assert _outputs(out) == outputs
    assert len(_chat_prompts(sim)) == 2  # the failed line was not paid again

    retried = _batch(sim, str(source), "-o", str(out), "--retry-failed")
    assert retried.exit_code == 1
    assert _chat_prompts(sim).count("[[reply not json]]") == 2
    assert _chat_prompts(sim).count('[[reply {"a": 1}]]') == 1


@pytest.mark.slow
def test_without_a_gateway_cost_the_budget_counts_estimates_and_the_cost_stays_null(
    sim: Any, tmp_path: Path
) -> None:
    from alltoken_agent.store.usage import UsageQuery, UsageRepository

    # no_done: the stream ends without [DONE] and without the cost comment.
    sim.state.enqueue_faults(["no_done"] * 20)
    probe = _write(tmp_path / "probe.jsonl", [{"prompt": "[[reply e0]]"}])
    assert _batch(sim, str(probe), "-o", str(tmp_path / "probe.out")).exit_code == 0
    assert _outputs(tmp_path / "probe.out")[0]["cost"] is None  # unknown, never 0
    with Store() as store:
        [row] = [r for r in UsageRepository.of(store).rows(UsageQuery()) if r.kind == "chat"]
    assert row.cost is not None and row.cost_source == "estimated"
    sim.state.reset()
    sim.state.enqueue_faults(["no_done"] * 20)
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply e{n}]]"} for n in range(4)])
    out = tmp_path / "out.jsonl"

    budget = f"{row.cost * 3 / 2:.12f}"
    result = _batch(sim, str(source), "-o", str(out), "--concurrency", "1", "--budget", budget)

    assert result.exit_code == 7, result.stderr
    outputs = _outputs(out)
    assert outputs[0]["text"] == "e0" and outputs[0]["cost"] is None
    assert [o["error"]["code"] for o in outputs[1:]] == ["budget_exceeded"] * 3
    assert len(_chat_prompts(sim)) == 1


def test_a_key_echoed_by_a_hostile_gateway_never_reaches_the_output(
    sim: Any, tmp_path: Path
) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": "[[reply x]]"}])
    sim.state.enqueue_faults(["leak_key"] * 5)
    out = tmp_path / "out.jsonl"

    result = _batch(sim, str(source), "-o", str(out))

    assert result.exit_code == 3, result.stderr
    assert _outputs(out)[0]["error"]["status"] == 401
    assert TEST_KEY not in out.read_text() and TEST_KEY not in result.stderr
    with Store() as store:
        stored = json.dumps([i.output for i in BatchRepository.of(store).items(_run_id(store))])
    assert TEST_KEY not in stored


@pytest.mark.slow
def test_worker_takes_queued_lines_on_one_machine(sim: Any, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply q{n}]]"} for n in range(3)])
    out = tmp_path / "out.jsonl"
    queued = _batch(sim, str(source), "--queue")
    assert queued.exit_code == 0, queued.stderr
    assert "3 lines journaled" in queued.stderr and not out.exists()
    assert _chat_prompts(sim) == []

    worked = run_cli("worker", "--base-url", sim.base_url, env=KEY_ENV)
    assert worked.exit_code == 0, worked.stderr
    assert "worker ran 3 lines: 3 ok" in worked.stderr
    assert len(_chat_prompts(sim)) == 3

    collected = _batch(sim, str(source), "-o", str(out))
    assert collected.exit_code == 0, collected.stderr
    assert [o["text"] for o in _outputs(out)] == ["q0", "q1", "q2"]
    assert len(_chat_prompts(sim)) == 3  # collecting sent nothing


@pytest.mark.slow
def test_sigterm_mid_line_gives_the_line_back_and_keeps_the_partial_file(
    sim: Any, tmp_path: Path
) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply s{n}]]"} for n in range(2)])
    out = tmp_path / "out.jsonl"
    sim.state.enqueue_faults(["stall:1:60"] * 10)
    args = ["batch", str(source), "-o", str(out), "--base-url", sim.base_url, "--tools", "none"]
    child = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", *args, "--concurrency", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **KEY_ENV},
    )
    try:
        while not any(r.path.endswith("/chat/completions") for r in sim.state.requests):
            assert child.poll() is None
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    while sim.state.pop_fault() is not None:
        pass

    assert child.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "out.jsonl.partial").exists() and not out.exists()
    with Store() as store:
        items = BatchRepository.of(store).items(_run_id(store))
    assert [(i.status, i.lease_owner) for i in items] == [("queued", None)] * 2


def test_an_empty_input_file_is_exit_2(sim: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("")

    result = _batch(sim, str(source), "-o", str(tmp_path / "out.jsonl"))

    assert result.exit_code == 2
    assert "holds no line" in result.stderr


def test_an_output_over_the_input_is_refused(sim: Any, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.jsonl", [{"prompt": "hi"}])

    result = _batch(sim, str(source), "-o", str(source))

    assert result.exit_code == 2
    assert "overwrite the input" in result.stderr
    assert json.loads(source.read_text()) == {"prompt": "hi"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --output/-o"),
        (["-o", "out.jsonl", "--tools", "nope"], "nope"),
        (["-o", "out.jsonl", "--schema", "missing.json"], "cannot read the schema file"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(
    sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    source = _write(tmp_path / "in.jsonl", [{"prompt": "hi"}])

    result = run_cli("batch", str(source), *args, "--base-url", sim.base_url, env=KEY_ENV)

    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert _chat_prompts(sim) == []


def test_a_line_whose_first_request_the_budget_stops_stays_queued_unpaid(
    sim: Any, tmp_path: Path, isolated_environment: Path
) -> None:
    from alltoken_agent.batch.runner import first_request_estimate
    from alltoken_agent.catalog import ModelPrice
    from tests.cli.helpers import write_config

    # Known prices; the line passes the batch's check (its messages) but not the
    # request's own check, which adds the tool schemas.
    write_config(
        isolated_environment,
        '[prices."minimax-m2.7"]\ninput_per_1k = "1"\noutput_per_1k = "1"\n',
    )
    request = {"prompt": "[[reply z]]"}
    price = ModelPrice("minimax-m2.7", input_per_1k=Decimal(1), output_per_1k=Decimal(1))
    budget = str(first_request_estimate(request, price))
    source = _write(tmp_path / "in.jsonl", [request])
    out = tmp_path / "out.jsonl"

    result = run_cli(
        "batch",
        str(source),
        "-o",
        str(out),
        "--base-url",
        sim.base_url,
        "-m",
        "minimax-m2.7",
        "--budget",
        budget,
        env=KEY_ENV,
    )

    assert result.exit_code == 7, result.stderr
    assert _outputs(out)[0]["error"]["code"] == "budget_exceeded"
    assert _chat_prompts(sim) == []
    with Store() as store:
        assert [i.status for i in BatchRepository.of(store).items(_run_id(store))] == ["queued"]


@pytest.mark.slow
def test_a_worker_under_a_budget_stops_taking_lines_with_exit_7(sim: Any, tmp_path: Path) -> None:
    probe = _write(tmp_path / "probe.jsonl", [{"prompt": "[[reply v0]]"}])
    assert _batch(sim, str(probe), "-o", str(tmp_path / "probe.out")).exit_code == 0
    one_line = float(_outputs(tmp_path / "probe.out")[0]["cost"])
    sim.state.reset()
    source = _write(tmp_path / "in.jsonl", [{"prompt": f"[[reply v{n}]]"} for n in range(4)])
    assert _batch(sim, str(source), "--queue").exit_code == 0

    budget = f"{one_line * 1.5:.12f}"
    worked = run_cli("worker", "--base-url", sim.base_url, "--budget", budget, env=KEY_ENV)

    assert worked.exit_code == 7, worked.stderr
    assert "worker ran 1 line: 1 ok" in worked.stderr
    assert len(_chat_prompts(sim)) == 1
    with Store() as store:
        statuses = [i.status for i in BatchRepository.of(store).items(_run_id_of(store, 4))]
    assert statuses == ["done", "queued", "queued", "queued"]


def _run_id_of(store: Store, lines: int) -> str:
    import sqlalchemy as sa

    from alltoken_agent.store.schema import batch_runs

    with store._db.read() as conn:
        return str(conn.scalar(sa.select(batch_runs.c.id).where(batch_runs.c.lines == lines)))

"""`alltoken-agent check`: integration check records, online and offline, success and failure."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent.cli._check_chat import _ContractError, _validate
from tests.cli.helpers import FAST_RETRY_CONFIG, run_cli, write_config
from tests.conftest import start_simulator
from tests.gateway.helpers import TEST_KEY

ENV = {"ALLTOKEN_API_KEY": TEST_KEY}
TEMPLATE = ["integration_status", "provider_mode", "model", "endpoint", "validated_at", "notes"]
"""The TokenHub contract's completion template, field for field and first in the record."""


def _assert_no_key(*texts: str) -> None:
    for text in texts:
        assert TEST_KEY not in text
        assert TEST_KEY[-12:] not in text


def _validated_recently(record: dict[str, Any]) -> None:
    moment = datetime.fromisoformat(record["validated_at"].replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - moment) < timedelta(minutes=1)


def _follows_the_template(record: dict[str, Any]) -> None:
    assert list(record)[: len(TEMPLATE)] == TEMPLATE
    assert record["integration_status"] in {"success", "failed", "simulated"}
    assert record["endpoint"] == "POST /v1/chat/completions"
    assert isinstance(record["notes"], str) and record["notes"]
    _validated_recently(record)


def test_online_check_sends_the_minimal_request_and_passes(sim: Any) -> None:
    result = run_cli("check", "--base-url", sim.base_url, "-m", "gpt-5.4-nano", env=ENV)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    _follows_the_template(record)
    assert record["integration_status"] == "success"
    assert (record["provider"], record["provider_mode"]) == ("alltoken", "online")
    assert (record["model"], record["base_url"]) == ("gpt-5.4-nano", sim.base_url)
    assert (record["http_status"], record["attempts"]) == (200, 1)
    (sent,) = sim.state.requests
    assert record["request_id"] == sent.request_id
    assert sent.has_auth and sent.path == "/v1/chat/completions"
    body = sent.json
    assert body["messages"] == [{"role": "user", "content": "Reply with OK only."}]
    assert (body["max_tokens"], body["temperature"], body.get("stream", False)) == (32, 0, False)
    assert "object chat.completion" in record["notes"]
    assert "error_code" not in record
    assert "integration check success" in result.stderr
    _assert_no_key(result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("provider", "variable"), [("alltoken", "ALLTOKEN_API_KEY"), ("tokenhub", "TOKENHUB_API_KEY")]
)
def test_without_a_key_the_check_fails_and_names_the_variable(provider: str, variable: str) -> None:
    result = run_cli("check", "--provider", provider, "-m", "gpt-5.4-nano")
    assert result.exit_code == 3
    record = json.loads(result.stdout)
    _follows_the_template(record)
    assert (record["integration_status"], record["provider_mode"]) == ("failed", "online")
    assert (record["error_code"], record["attempts"], record["request_id"]) == (
        "missing_api_key",
        0,
        None,
    )
    assert record["recommended_action"].startswith(
        f"ask the user for an API key and set {variable}"
    )
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: integration check failed") and variable in line


def test_without_a_key_media_jobs_are_skipped_too(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    result = run_cli("check", "--media", "-o", str(target), "--json")
    assert result.exit_code == 3
    record = json.loads(target.read_text(encoding="utf-8"))
    assert record["error_code"] == "missing_api_key"
    assert {entry["status"] for entry in record["media"].values()} == {"skipped"}


def test_check_offline_runs_on_the_simulator_and_never_says_success() -> None:
    result = run_cli("check", "--offline")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    _follows_the_template(record)
    assert (record["integration_status"], record["provider_mode"]) == (
        "simulated",
        "offline-simulator",
    )
    assert record["base_url"].startswith("http://127.0.0.1:") and record["request_id"]
    assert "--offline: the built-in simulator answered" in record["notes"]
    assert "integration check simulated" in result.stderr
    assert "the simulator answered, not the gateway" in result.stderr


@pytest.fixture(scope="module")
def simulator_command() -> Iterator[str]:
    """`alltoken-agent simulator` in its own process, as a user starts it; its base URL."""
    with start_simulator() as command:
        yield command.url


def test_a_simulator_reached_by_base_url_is_no_success(simulator_command: str) -> None:
    result = run_cli("check", "--base-url", simulator_command, "--json", env=ENV)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    _follows_the_template(record)
    assert (record["integration_status"], record["provider_mode"]) == (
        "simulated",
        "offline-simulator",
    )
    assert "X-Simulator" in record["notes"] and record["base_url"] == simulator_command


def test_a_simulator_reached_by_base_url_that_fails_still_says_so(simulator_command: str) -> None:
    root = simulator_command.removesuffix("/v1")
    queued = httpx.post(f"{root}/_sim/faults", json={"faults": ["402"]}, timeout=10)
    assert queued.status_code == 200, queued.text
    result = run_cli("check", "--base-url", simulator_command, "--json", env=ENV)
    assert result.exit_code == 4
    record = json.loads(result.stdout)
    _follows_the_template(record)
    assert (record["integration_status"], record["provider_mode"]) == (
        "failed",
        "offline-simulator",
    )
    assert record["error_code"] == "insufficient_balance" and "X-Simulator" in record["notes"]


def test_record_to_a_file_and_json_line_on_stdout(sim: Any, tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    args = ["check", "--base-url", sim.base_url, "-o", str(target)]
    quiet = run_cli(*args, env=ENV)
    assert quiet.exit_code == 0 and quiet.stdout == ""
    assert f"record written to {target}" in quiet.stderr
    assert json.loads(target.read_text(encoding="utf-8"))["integration_status"] == "success"
    machine = run_cli(*args, "--json", env=ENV)
    assert machine.exit_code == 0 and machine.stderr == ""
    (line,) = machine.stdout.splitlines()
    assert json.loads(line) == json.loads(target.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
    _assert_no_key(target.read_text(encoding="utf-8"), machine.stdout, quiet.stderr)


@pytest.mark.parametrize(
    ("faults", "exit_code", "error_code", "status", "action", "attempts"),
    [
        (["401"], 3, "invalid_api_key", 401, "request a new API key", 1),
        (["402"], 4, "insufficient_balance", 402, "top up the balance", 1),
        (
            ["429:0", "429:0"],
            5,
            "rate_limit_exceeded",
            429,
            "retried with backoff 1 times; report the failure",
            2,
        ),
        (
            ["503", "503"],
            6,
            "all_providers_failed",
            503,
            "retried with backoff 1 times; report the failure",
            2,
        ),
    ],
)
def test_each_failure_writes_the_failure_record_and_exits_like_chat(
    sim: Any,
    isolated_environment: Path,
    tmp_path: Path,
    faults: list[str],
    exit_code: int,
    error_code: str,
    status: int,
    action: str,
    attempts: int,
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    sim.state.enqueue_faults(faults)
    target = tmp_path / "failure.json"
    result = run_cli("check", "--base-url", sim.base_url, "-o", str(target), env=ENV)
    assert result.exit_code == exit_code, result.stderr
    record = json.loads(target.read_text(encoding="utf-8"))
    _follows_the_template(record)
    assert record["integration_status"] == "failed"
    assert (record["error_code"], record["http_status"]) == (error_code, status)
    assert record["recommended_action"] == action
    assert record["attempts"] == attempts == len(sim.state.requests)
    assert record["request_id"] == sim.state.requests[-1].request_id
    _validated_recently(record)
    assert f"{error_code} (HTTP {status})" in result.stderr
    assert sim.state.pending_faults == []


def test_a_refused_connection_is_a_failure_record_with_exit_6(isolated_environment: Path) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = run_cli("check", "--base-url", url, "--json", env=ENV)
    assert result.exit_code == 6, result.stderr
    record = json.loads(result.stdout)
    assert (record["error_code"], record["http_status"]) == ("connection_error", None)
    assert record["recommended_action"].startswith("check the base URL/network")
    assert record["base_url"] == url and record["attempts"] == 2


def test_a_key_echoed_by_a_hostile_upstream_never_reaches_the_record(
    sim: Any, tmp_path: Path
) -> None:
    sim.state.enqueue_faults(["leak_key"])
    target = tmp_path / "failure.json"
    result = run_cli("check", "--base-url", sim.base_url, "-o", str(target), "--json", env=ENV)
    assert result.exit_code == 3
    text = target.read_text(encoding="utf-8")
    assert json.loads(text)["error_code"] == "invalid_api_key"
    assert "credentials" in text  # the message is there, the key is not
    _assert_no_key(text, result.stdout, result.stderr)


def test_a_redirect_is_a_failure_record_and_the_key_is_not_taken_along(sim: Any) -> None:
    """The check once sent through the SDK's client, which followed a 307 with the key."""
    sim.state.enqueue_faults(["redirect"])
    result = run_cli("check", "--base-url", sim.base_url, "--json", env=ENV)
    assert result.exit_code != 0
    record = json.loads(result.stdout)
    assert (record["error_code"], record["http_status"]) == ("redirected", 307)
    assert record["attempts"] == 1 == len(sim.state.requests)
    assert "redirects are not followed" in record["notes"]


def _media_paths(sim: Any) -> list[str]:
    return [r.path for r in sim.state.requests if r.method == "POST"]


@pytest.mark.slow
def test_media_check_runs_an_image_and_a_video_job_and_validates_the_files(
    sim: Any, tmp_path: Path
) -> None:
    target = tmp_path / "record.json"
    result = run_cli("check", "--media", "--base-url", sim.base_url, "-o", str(target), env=ENV)
    assert result.exit_code == 0, result.stderr
    record = json.loads(target.read_text(encoding="utf-8"))
    assert record["integration_status"] == "success" and "failed_check" not in record
    image, video = record["media"]["image"], record["media"]["video"]
    assert (image["status"], image["model"]) == ("passed", "gpt-image-2")
    assert (video["status"], video["model"]) == ("passed", "seedance-1.5-pro")
    assert image["task_id"].startswith("igen_") and video["task_id"].startswith("vgen_")
    assert "PNG" in image["notes"] and "MP4/MOV" in video["notes"]
    _validated_recently(image)
    assert _media_paths(sim) == [
        "/v1/chat/completions",
        "/v1/images/generations/async",
        "/v1/videos/generations",
    ]
    assert "image passed, video passed" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no media left behind
    _assert_no_key(target.read_text(encoding="utf-8"), result.stderr)


@pytest.mark.slow
def test_media_check_on_tokenhub_uses_its_endpoints(th_sim: Any) -> None:
    env = {"TOKENHUB_API_KEY": TEST_KEY}
    result = run_cli("check", "--media", "--provider", "tokenhub", "--base-url", th_sim.base_url,
                     "--json", env=env)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert {e["status"] for e in record["media"].values()} == {"passed"}
    assert _media_paths(th_sim) == [
        "/v1/chat/completions",
        "/v1/images/generations",
        "/v1/video/generations",
    ]


@pytest.mark.slow
def test_a_failed_image_job_fails_the_record_and_the_video_is_still_checked(
    sim: Any, tmp_path: Path
) -> None:
    sim.state.media.enqueue_job_faults(["fail:upstream_content_violation"])
    target = tmp_path / "failure.json"
    result = run_cli("check", "--media", "--base-url", sim.base_url, "-o", str(target), env=ENV)
    assert result.exit_code == 1, result.stderr
    record = json.loads(target.read_text(encoding="utf-8"))
    assert (record["integration_status"], record["failed_check"]) == ("failed", "image")
    assert record["error_code"] == "upstream_content_violation"
    assert record["media"]["image"]["job_id"] and record["media"]["video"]["status"] == "passed"
    assert "run the check again later" in record["recommended_action"]
    assert "image check: upstream_content_violation" in result.stderr


@pytest.mark.slow
def test_a_refused_media_submit_carries_the_gateway_error_and_exit_code(
    sim: Any, isolated_environment: Path
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    sim.state.enqueue_faults(["slow:0", "402"])  # the chat request passes, the image submit not
    result = run_cli("check", "--media", "--base-url", sim.base_url, "--json", env=ENV)
    assert result.exit_code == 4, result.stderr
    record = json.loads(result.stdout)
    assert (record["failed_check"], record["http_status"]) == ("image", 402)
    assert record["recommended_action"] == "top up the balance"
    assert record["media"]["image"]["error_code"] == record["error_code"]
    assert record["media"]["video"]["status"] == "passed"


def test_after_a_failed_chat_check_no_media_job_is_sent(sim: Any) -> None:
    sim.state.enqueue_faults(["401"])
    result = run_cli("check", "--media", "--base-url", sim.base_url, "--json", env=ENV)
    assert result.exit_code == 3
    record = json.loads(result.stdout)
    assert {e["status"] for e in record["media"].values()} == {"skipped"}
    assert record["error_code"] == "invalid_api_key"
    assert _media_paths(sim) == ["/v1/chat/completions"]


def test_media_on_a_plain_openai_endpoint_is_refused_before_any_request(sim: Any) -> None:
    result = run_cli("check", "--media", "--provider", "openai", "--base-url", sim.base_url,
                     "-m", "gpt-5.4-nano", env={"OPENAI_API_KEY": TEST_KEY})  # fmt: skip
    assert result.exit_code == 2
    assert "--media needs an AllToken or TokenHub gateway" in result.stderr
    assert sim.state.requests == []


def test_an_unwritable_record_file_exits_2(sim: Any, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "record.json"
    result = run_cli("check", "--base-url", sim.base_url, "-o", str(target), env=ENV)
    assert result.exit_code == 2 and "cannot write the record" in result.stderr


def _reply(status: int, body: Any) -> httpx.Response:
    """A raw reply as the gateway's request path hands it to `_validate`."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, headers={"x-gateway-request-id": "req123"}, content=content)


GOOD = {"object": "chat.completion", "choices": [{"message": {"content": "OK"}}]}


@pytest.mark.parametrize(
    ("status", "body", "needle"),
    [
        (201, GOOD, "expected 200"),
        (200, b"<html>", "not JSON"),
        (200, {**GOOD, "object": "list"}, "object is 'list'"),
        (200, {**GOOD, "choices": []}, "choices is missing or empty"),
        (200, {**GOOD, "choices": [{"message": {"content": None}}]}, "content is null"),
    ],
)
def test_replies_off_the_contract_are_refused(status: int, body: Any, needle: str) -> None:
    """The simulator always keeps the contract, so these replies are built by hand."""
    with pytest.raises(_ContractError, match=needle) as caught:
        _validate(_reply(status, body))
    assert caught.value.request_id == "req123"
    streamed = {**GOOD, "object": "chat.completion.chunk"}
    assert _validate(_reply(200, streamed))["object"] == "chat.completion.chunk"


@pytest.mark.slow
def test_a_key_echoed_on_a_media_submit_never_reaches_the_record(sim: Any, tmp_path: Path) -> None:
    sim.state.enqueue_faults(["slow:0", "leak_key"])  # chat passes; the image submit echoes
    target = tmp_path / "failure.json"
    result = run_cli("check", "--media", "--base-url", sim.base_url, "-o", str(target), env=ENV)
    assert result.exit_code == 3, result.stderr
    text = target.read_text(encoding="utf-8")
    record = json.loads(text)
    assert (record["failed_check"], record["error_code"]) == ("image", "invalid_api_key")
    assert record["recommended_action"] == "request a new API key"
    _assert_no_key(text, result.stdout, result.stderr)


@pytest.mark.slow
def test_a_saved_media_file_must_be_a_real_image_or_video(tmp_path: Path) -> None:
    """The simulator always delivers real files, so the bad ones are written by hand."""
    from alltoken_agent.cli._check_media import _FileError, _validate_file

    page = tmp_path / "job.png"
    page.write_bytes(b"<html>502 Bad Gateway</html>")
    with pytest.raises(_FileError, match="not a PNG, JPEG or WebP image"):
        _validate_file("image", page)
    with pytest.raises(_FileError, match="not an MP4 or MOV video"):
        _validate_file("video", page)
    page.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 8)
    assert _validate_file("image", page) == "PNG"
    page.write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert _validate_file("image", page) == "WebP"
    with pytest.raises(_FileError, match="cannot be read"):
        _validate_file("video", tmp_path / "missing.mp4")

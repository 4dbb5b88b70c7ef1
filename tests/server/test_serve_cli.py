"""`alltoken-agent serve`: what it refuses before binding anything."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import run_cli, write_config
from tests.server.conftest import auth


@pytest.fixture(autouse=True)
def no_server_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_KEYS", raising=False)
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_STORE", raising=False)


@pytest.mark.slow
def test_serve_refuses_a_public_host_without_server_keys() -> None:
    result = run_cli("serve", "--offline", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without server keys" in result.stderr
    assert "ALLTOKEN_AGENT_SERVER_KEYS" in result.stderr
    assert result.stdout == ""


def test_serve_refuses_short_server_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLTOKEN_AGENT_SERVER_KEYS", "short")
    result = run_cli("serve", "--offline", "--port", "0")
    assert result.exit_code == 2
    assert "at least 16 characters" in result.stderr


def test_serve_needs_a_gateway_key_or_offline() -> None:
    result = run_cli("serve", "--port", "0")
    assert result.exit_code == 2
    assert "ALLTOKEN_API_KEY" in result.stderr
    assert "--offline" in result.stderr


def test_serve_help_lists_its_flags() -> None:
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--offline", "--store"):
        assert flag in result.stdout


def _serve_process(
    home: Path, env_keys: str | None, log_level: str = "warning"
) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["ALLTOKEN_AGENT_HOME"] = str(home)
    env.pop("ALLTOKEN_AGENT_SERVER_KEYS", None)
    if env_keys is not None:
        env["ALLTOKEN_AGENT_SERVER_KEYS"] = env_keys
    command = [sys.executable, "-m", "alltoken_agent", "serve", "--offline", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--log-level", log_level],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the announcement, printed once the socket listens
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    if found is None:
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {process.communicate()[1]}")
    return process, found.group(0)


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return err


@pytest.mark.slow
def test_serve_takes_its_keys_from_the_config_file_and_the_env_replaces_them(
    isolated_environment: Path,
) -> None:
    from_file, from_env = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    write_config(isolated_environment, f'[server]\nkeys = ["{from_file}"]\n')

    process, url = _serve_process(isolated_environment, env_keys=None)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/v1/sessions").status_code == 401
            assert client.get("/v1/capabilities").json()["auth"] == "bearer"
            created = client.post("/v1/sessions", json={}, headers=auth(from_file))
            assert created.status_code == 201
            assert client.get("/v1/sessions", headers=auth(from_env)).status_code == 401
    finally:
        err = _stop(process)
    assert from_file not in err and "no server keys are set" not in err

    process, url = _serve_process(isolated_environment, env_keys=f" {from_env} ,")
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/v1/sessions", headers=auth(from_file)).status_code == 401
            listed = client.get("/v1/sessions", headers=auth(from_env))
            assert listed.status_code == 200 and listed.json() == {"sessions": []}
    finally:
        _stop(process)


@pytest.mark.slow
def test_serve_runs_on_uvloop_and_httptools_from_the_server_extra(
    isolated_environment: Path,
) -> None:
    pytest.importorskip("uvloop", reason="uvloop is not installed")
    pytest.importorskip("httptools", reason="httptools is not installed")
    process, url = _serve_process(isolated_environment, env_keys=None, log_level="info")
    try:
        assert httpx.get(f"{url}/healthz", timeout=30).json()["status"] == "ok"
    finally:
        err = _stop(process)
    assert "HTTP/1.1 parsed by httptools, event loop uvloop" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--log-level", "loud"), "Invalid value for '--log-level'"),
        (("--model", "caf\udce9"), "error: --model is not valid UTF-8 text (byte 0xe9)"),
    ],
)
def test_serve_refuses_bad_flags_before_starting(args: tuple[str, ...], message: str) -> None:
    result = run_cli("serve", "--offline", "--port", "0", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "server on" not in result.stdout

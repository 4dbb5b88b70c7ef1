"""`alltoken-agent serve`: what it refuses before binding anything."""

from __future__ import annotations

import pytest

from tests.cli.helpers import run_cli


@pytest.fixture(autouse=True)
def no_server_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_KEYS", raising=False)
    monkeypatch.delenv("ALLTOKEN_AGENT_SERVER_STORE", raising=False)


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

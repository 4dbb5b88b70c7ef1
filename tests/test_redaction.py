"""The API key never reaches an exception, a repr, a log line or CLI output."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import GatewayError
from alltoken_agent.config import TimeoutSettings
from tests.cli.helpers import FAST_RETRY_CONFIG, run_cli, write_config
from tests.gateway.helpers import TEST_KEY, gateway_for, user

FAULTS = [
    "400",
    "401",
    "402",
    "403",
    "404",
    "429:0",
    "500",
    "502",
    "503",
    "html502",
    "leak_key",
    "disconnect:2",
    "disconnect:0",
    "malformed:1",
    "eof:2",
    "stall:1:1",
    "slow:1",
]


def texts_of(error: BaseException) -> list[str]:
    out = [str(error), repr(error), *map(str, error.args)]
    out.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    if isinstance(error, GatewayError):
        out += [error.message, str(error.code), str(error.request_id)]
    return out


@pytest.mark.parametrize("stream", [False, True])
async def test_no_error_kind_leaks_the_key(
    sim: Any, stream: bool, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    timeouts = TimeoutSettings(connect=2, read=0.4)
    async with gateway_for(sim, timeout=timeouts) as gateway:
        seen.append(repr(gateway))
        for fault in FAULTS:
            headers = {"X-Sim-Fault": fault}
            with pytest.raises(GatewayError) as caught:
                if stream:
                    await gateway.stream(user("hi"), extra_headers=headers).collect()
                else:
                    await gateway.chat(user("hi"), extra_headers=headers)
            seen += texts_of(caught.value)
    captured = capsys.readouterr()
    seen += [caplog.text, captured.out, captured.err]
    assert any("leak_key" in t or "invalid" in t.lower() for t in seen)  # the scan saw errors
    for text in seen:
        assert TEST_KEY not in text
        assert TEST_KEY[8:24] not in text  # nor a recognisable piece of it


def test_the_upstream_really_echoes_the_key_so_the_test_means_something(sim: Any) -> None:
    import httpx

    response = httpx.post(
        sim.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {TEST_KEY}", "X-Sim-Fault": "leak_key"},
        json={"model": "minimax-m2.7", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 401 and TEST_KEY in response.text


def test_simulator_request_log_keeps_no_key(sim: Any) -> None:
    run_cli("chat", "--base-url", sim.base_url, "hi", env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert sim.state.requests and TEST_KEY not in repr(sim.state.requests)


@pytest.mark.parametrize("fault", FAULTS)
def test_cli_output_never_shows_the_key(sim: Any, isolated_environment: Path, fault: str) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG + "[timeouts]\nread = 0.4\n")
    for json_flag in ([], ["--json"]):
        sim.state.enqueue_faults([fault, fault])
        result = run_cli(
            "chat",
            "--base-url",
            sim.base_url,
            *json_flag,
            "hi",
            env={"ALLTOKEN_API_KEY": TEST_KEY, "ALLTOKEN_AGENT_DEBUG": "1"},
        )
        assert result.exit_code != 0, fault
        assert TEST_KEY not in result.stdout + result.stderr

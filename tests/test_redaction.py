"""The API key never reaches an exception, a repr, a log line or CLI output."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import httpx
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


@pytest.mark.slow
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
    response = httpx.post(
        sim.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {TEST_KEY}", "X-Sim-Fault": "leak_key"},
        json={"model": "minimax-m2.7", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 401 and TEST_KEY in response.text


@pytest.mark.slow
def test_simulator_request_log_keeps_no_key(sim: Any) -> None:
    run_cli("chat", "--base-url", sim.base_url, "hi", env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert sim.state.requests and TEST_KEY not in repr(sim.state.requests)


@pytest.mark.slow
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


# -- a gateway that echoes the key in every field ----------------------------


def raw_post(sim: Any, fault: str, *, stream: bool = False) -> httpx.Response:
    return httpx.post(
        sim.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {TEST_KEY}", "X-Sim-Fault": fault},
        json={
            "model": "minimax-m2.7",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": stream,
        },
    )


def test_the_echo_key_fault_really_echoes_the_key_everywhere(sim: Any) -> None:
    reply = raw_post(sim, "echo_key")
    assert TEST_KEY in reply.headers["x-gateway-request-id"]
    body = reply.json()
    assert TEST_KEY in body["x-gateway-request-id"]
    assert TEST_KEY in body["choices"][0]["message"]["content"]
    streamed = raw_post(sim, "echo_key", stream=True)
    assert TEST_KEY in streamed.headers["x-gateway-request-id"]
    # The reply text quotes it in pieces, one per chunk, as a model would.
    assert TEST_KEY not in streamed.text and TEST_KEY[:8] in streamed.text

    sim.state.echo_key = True
    error = raw_post(sim, "500").json()["error"]
    assert all(TEST_KEY in error[field] for field in ("code", "message", "param", "type"))
    assert TEST_KEY in error["request_id"]
    events = raw_post(sim, "error_chunk:2", stream=True).text
    (line,) = [x for x in events.splitlines() if x.startswith('data: {"error"')]
    assert all(TEST_KEY in value for value in json.loads(line[6:])["error"].values())
    assert TEST_KEY not in repr(sim.state.requests)  # the log keeps the plain id


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("dialect", ["alltoken", "tokenhub"])
async def test_a_reply_that_echoes_the_key_is_masked_before_we_keep_it(
    request: pytest.FixtureRequest, dialect: str, stream: bool
) -> None:
    sim = request.getfixturevalue("sim" if dialect == "alltoken" else "th_sim")
    async with gateway_for(sim, dialect=dialect) as gateway:
        if stream:
            events = []
            async with gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": "echo_key"}) as s:
                events = [event async for event in s]
            result = s.result
        else:
            events = []
            result = await gateway.chat(user("hi"), extra_headers={"X-Sim-Fault": "echo_key"})
    assert result.request_id is not None and result.request_id.endswith("-***")
    assert result.text.endswith("Your key is *** (simulated echo).")
    assert TEST_KEY[:4] not in "".join(getattr(event, "text", "") for event in events)
    assert TEST_KEY not in repr(result) + repr(events)


@pytest.mark.parametrize(
    ("fault", "stream"),
    [("400", False), ("503", False), ("html502", False), ("429:0", True), ("error_chunk:2", True)],
)
async def test_every_error_field_that_echoes_the_key_is_masked(
    sim: Any, fault: str, stream: bool
) -> None:
    sim.state.echo_key = True
    async with gateway_for(sim) as gateway:
        with pytest.raises(GatewayError) as caught:
            if stream:
                await gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": fault}).collect()
            else:
                await gateway.chat(user("hi"), extra_headers={"X-Sim-Fault": fault})
    error = caught.value
    assert error.request_id is not None and error.request_id.endswith("-***")
    assert "***" in error.message
    if fault != "html502":
        assert all("***" in str(value) for value in (error.code, error.param, error.type))
    for text in [*texts_of(error), repr(vars(error))]:
        assert TEST_KEY not in text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "stream"),
    [
        ("disconnect:2", True),
        ("stall:1:1", True),
        ("malformed:1", True),
        ("error_chunk:1", True),
        ("eof:1", True),
        ("disconnect:0", False),
        ("malformed:1", False),
        ("500", False),
    ],
)
async def test_our_errors_carry_no_transport_error_and_no_request(
    sim: Any, fault: str, stream: bool
) -> None:
    timeouts = TimeoutSettings(connect=2, read=0.4)
    async with gateway_for(sim, timeout=timeouts) as gateway:
        with pytest.raises(GatewayError) as caught:
            if stream:
                await gateway.stream(user("hi"), extra_headers={"X-Sim-Fault": fault}).collect()
            else:
                await gateway.chat(user("hi"), extra_headers={"X-Sim-Fault": fault})
    error = caught.value
    # `raise ... from None` only hides the httpx error: it must not be there at all,
    # since its `.request.headers["authorization"]` is the key.
    assert error.__cause__ is None and error.__context__ is None
    for value in [*error.args, *vars(error).values()]:
        assert not isinstance(value, (httpx.Request, httpx.Response, BaseException))
        assert TEST_KEY not in repr(value)


@pytest.mark.slow
def test_check_and_the_official_sdk_clients_show_no_echoed_key(
    sim: Any, isolated_environment: Path
) -> None:
    sim.state.echo_key = True
    shown = []
    for flags in ([], ["--json"]):
        result = run_cli(
            "check", "--base-url", sim.base_url, *flags, env={"ALLTOKEN_API_KEY": TEST_KEY}
        )
        assert result.exit_code == 0, result.stderr
        shown += [result.stdout, result.stderr]
    assert any("-***" in text for text in shown)  # the request id came back, masked
    gateway = gateway_for(sim)
    client = gateway.openai_client()
    raw = client.chat.completions.with_raw_response.create(
        model="minimax-m2.7", messages=user("hi")
    )
    completion = raw.parse()
    shown += [repr(completion), repr(dict(raw.headers)), completion.model_dump_json()]
    client.close()
    asyncio.run(gateway.aclose())
    for text in shown:
        assert TEST_KEY not in text

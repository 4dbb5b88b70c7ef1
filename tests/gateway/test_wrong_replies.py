"""A reply that is not what was asked for says what it was: HTML, JSON, nothing, a redirect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import GatewayError, UpstreamError
from alltoken_agent.errors import RateLimitError
from tests.cli.helpers import FAST_RETRY_CONFIG, ndjson, run_cli, write_config
from tests.gateway.helpers import TEST_KEY, gateway_for, user
from tests.gateway.wire_server import canned_server, http_response

FAULT = "X-Sim-Fault"


def chat_requests(server: Any) -> list[Any]:
    return [r for r in server.state.requests if r.path.endswith("/chat/completions")]


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("html200", "html_instead_of_stream", "an HTML page ('Sign in to continue')"),
        ("json200", "json_instead_of_stream", "a JSON body instead of an event stream"),
        ("empty200", "empty_reply", "an empty body instead of an event stream"),
    ],
)
async def test_a_200_that_is_not_an_event_stream_says_what_it_was(
    sim: Any, fault: str, code: str, words: str
) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(UpstreamError) as caught:
            await gateway.stream(user("hi"), extra_headers={FAULT: fault}).collect()
    error = caught.value
    assert error.code == code
    assert error.status == 200
    assert words in error.message
    assert "ended before it was finished" not in error.message
    assert error.request_id  # the header's, so the user can quote it
    assert len(chat_requests(sim)) == 1  # nothing started streaming; nothing retried


async def test_a_redirect_is_not_followed_and_names_where_it_pointed(sim: Any) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.stream(user("hi"), extra_headers={FAULT: "redirect"}).collect()
        with pytest.raises(GatewayError) as plain:
            await gateway.chat(user("hi"), extra_headers={FAULT: "redirect"})
    for error in (caught.value, plain.value):
        assert error.code == "redirected"
        assert error.status == 307
        assert "redirected to 'http://elsewhere.invalid/v1/chat/completions'" in error.message
    # Neither request went on to the other host, nor was sent again.
    assert [r.path for r in chat_requests(sim)] == ["/v1/chat/completions"] * 2
    assert all(r.status == 307 for r in chat_requests(sim))


async def test_a_redirect_location_holding_the_key_is_redacted(sim: Any) -> None:
    target = f"https://evil.example/steal?key={TEST_KEY}"
    async with gateway_for(sim) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.chat(user("hi"), extra_headers={FAULT: f"redirect:{target}"})
    assert "evil.example" in caught.value.message
    assert TEST_KEY not in str(caught.value)
    assert TEST_KEY not in repr(caught.value)


async def test_a_200_json_error_envelope_to_a_stream_is_that_error() -> None:
    """Some hosts answer a streaming request's failure with 200 and an error object.

    The simulator always sends a real status with its envelopes, so a canned server
    supplies these bytes.
    """
    body = b'{"error": {"code": "rate_limit_exceeded", "message": "slow down"}}'
    reply = http_response(200, {"Content-Type": "application/json"}, body)
    async with canned_server(reply) as base_url:
        server = type("Canned", (), {"base_url": base_url})()
        async with gateway_for(server) as gateway:
            with pytest.raises(GatewayError) as caught:
                await gateway.stream(user("hi")).collect()
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.message == "slow down"
    assert not isinstance(caught.value, RateLimitError)  # a 200 says nothing about waiting


async def test_html_without_a_content_type_still_ends_as_before() -> None:
    """Without a content type the body is read as SSE: not a stream, so 'ended' is right."""
    reply = http_response(200, {}, b"<html>hello</html>")
    async with canned_server(reply) as base_url:
        server = type("Canned", (), {"base_url": base_url})()
        async with gateway_for(server) as gateway:
            with pytest.raises(GatewayError) as caught:
                await gateway.stream(user("hi")).collect()
    assert caught.value.code == "stream_interrupted"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "code", "needle"),
    [
        ("html200", 6, "html_instead_of_stream"),
        ("json200", 6, "json_instead_of_stream"),
        ("empty200", 6, "empty_reply"),
        ("redirect", 1, "redirected"),
    ],
)
def test_chat_prints_one_line_naming_what_came_back(
    sim: Any, isolated_environment: Path, fault: str, code: int, needle: str
) -> None:
    write_config(isolated_environment, FAST_RETRY_CONFIG)
    sim.state.enqueue_faults([fault])
    env = {"ALLTOKEN_API_KEY": TEST_KEY}
    result = run_cli("chat", "--base-url", sim.base_url, "--json", "hello there", env=env)
    assert result.exit_code == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0]
    assert ndjson(result.stdout)[-1]["code"] == needle
    assert len(chat_requests(sim)) == 1


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("html200", "html_instead_of_json", "a web page instead of a completion"),
        ("empty200", "empty_reply", "an empty body"),
    ],
)
async def test_a_non_streamed_200_that_is_no_completion_says_what_it_was(
    sim: Any, fault: str, code: str, words: str
) -> None:
    async with gateway_for(sim) as gateway:
        with pytest.raises(UpstreamError) as caught:
            await gateway.chat(user("hi"), extra_headers={FAULT: fault})
    assert caught.value.code == code
    assert words in caught.value.message
    assert "not JSON" not in caught.value.message

"""A base URL is checked before any request; a dead endpoint is reported once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from alltoken_agent import ConfigError, Gateway, load_config
from alltoken_agent.gateway import resolve
from alltoken_agent.gateway.providers import check_base_url
from tests.cli.helpers import run_cli, write_config
from tests.gateway.helpers import TEST_KEY

BAD_URLS = [
    ("http://127.0.0.1:99999/v1", "port must be a number from 1 to 65535"),
    ("http://127.0.0.1:0/v1", "port must be a number from 1 to 65535"),
    ("http://127.0.0.1:port/v1", "port must be a number from 1 to 65535"),
    ("file:///etc/passwd", "not file:"),
    ("ftp://example.com/v1", "not ftp:"),
    ("javascript:alert(1)", "not javascript:"),
    ("http:///v1", "no host"),
    (" https://api.example.com/v1", "spaces around it"),
    ("https://api.example.com/v1 ", "spaces around it"),
    ("https://api.exa mple.com/v1", "spaces or control characters"),
    ("api.example.com/v1", "needs a scheme"),
    ("localhost:8080/v1", "needs a scheme"),
    ("https://api.example.com/v1?x=1", "no ?query or #fragment"),
    ("", "it is empty"),
]


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_a_bad_base_url_is_a_config_error_saying_why(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_base_url(url)
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.alltoken.ai/v1",
        "http://127.0.0.1:11434/v1",
        "http://[::1]:8000/v1",
        "HTTPS://Example.COM/v1/",
        "http://localhost:65535",
    ],
)
def test_good_base_urls_pass(url: str) -> None:
    assert check_base_url(url) == url


def test_a_key_pasted_into_the_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        check_base_url(f"ftp://host/{TEST_KEY}")
    assert TEST_KEY not in str(caught.value)


def test_every_source_of_a_base_url_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not ftp:"):
        resolve(base_url="ftp://x/v1", environ={})
    with pytest.raises(ConfigError, match="not file:"):
        resolve(environ={"ALLTOKEN_AGENT_BASE_URL": "file:///tmp/x"})
    config_file = tmp_path / "c.toml"
    config_file.write_text(
        '[providers.local]\nbase_url = "http://127.0.0.1:99999/v1"\nrequires_key = false\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="65535"):
        Gateway("local", config=load_config(config_file))


@pytest.mark.parametrize(("url", "why"), BAD_URLS[:9])
def test_chat_with_a_bad_base_url_exits_2_with_one_line(url: str, why: str) -> None:
    result = run_cli("chat", "--base-url", url, "hi", env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid base URL")
    assert why in lines[0]
    assert "retrying" not in result.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FAST_RETRIES = "[retry]\nmax_retries = 2\nbase_delay = 0\nmax_delay = 0\n"


@pytest.mark.slow
def test_a_dead_endpoint_is_one_error_line(isolated_environment: Path) -> None:
    write_config(isolated_environment, FAST_RETRIES)
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    result = run_cli("chat", "--base-url", url, "hi", env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert result.exit_code == 6, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: connection_error: cannot reach")
    assert "gave up after 3 attempts" in lines[0]


def test_a_dead_endpoint_with_verbose_prints_one_line_per_retry_of_the_request_only(
    isolated_environment: Path,
) -> None:
    """The price lookup before the request makes one attempt: the retries are the chat's."""
    write_config(isolated_environment, FAST_RETRIES)
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    args = ["chat", "-v", "--base-url", url, "hi"]
    result = run_cli(*args, env={"ALLTOKEN_API_KEY": TEST_KEY})
    assert result.exit_code == 6, result.stderr
    lines = result.stderr.strip().splitlines()
    retries = [line for line in lines if "retrying in" in line]
    assert [line.split("(retry ")[1] for line in retries] == ["1)", "2)"]
    assert len(lines) == len(retries) + 1 and lines[-1].startswith("error: connection_error")


async def test_the_price_lookup_does_not_retry_a_dead_endpoint(
    isolated_environment: Path,
) -> None:
    from alltoken_agent import Provider, RetryNotice
    from alltoken_agent.catalog import Catalog
    from alltoken_agent.gateway import RetryPolicy

    notices: list[RetryNotice] = []
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    provider = Provider(name="dead", base_url=url, api_key_env=None, dialect="alltoken")
    retry = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0)
    async with Gateway(provider, api_key=TEST_KEY, retry=retry, on_retry=notices.append) as gw:
        lookup = await Catalog(gw, use_cache=False).prices({})
    assert lookup("any-model") is None
    assert notices == []

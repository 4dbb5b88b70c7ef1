"""`alltoken-agent mcp --transport http` as a real process: announces its URL, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mcp.client.client import Client

from tests.mcp.expectations import TOOL_NAMES, text_of

pytestmark = pytest.mark.slow

START_TIMEOUT = 20.0


def _wait_for_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + START_TIMEOUT
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        found = re.search(r"http://127\.0\.0\.1:\d+/mcp", line)
        if found:
            return found.group(0)
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no URL announced; stderr:\n{seen}")


def _status_of_endless_headers(url: str) -> bytes:
    """The status line the server answers 64 KiB of request headers with (it must cut them off)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=START_TIMEOUT) as conn:
        conn.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n".encode())
        try:
            for n in range(1024):
                conn.sendall(f"X-Filler-{n}: {'a' * 60}\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the last of them: what we want
        return conn.recv(4096).split(b"\r\n", 1)[0]


async def test_http_transport_serves_the_tools_and_stops_on_ctrl_c(
    isolated_environment: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "alltoken_agent", "mcp", "--offline", "--transport", "http"]
        + ["--port", "0"],
        env=env,
        cwd=isolated_environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for_url(process)
        async with Client(url) as client:
            assert [tool.name for tool in (await client.list_tools()).tools] == TOOL_NAMES
            result = await client.call_tool("chat", {"prompt": "over http"})
        assert not result.is_error and "over http" in text_of(result)
        assert _status_of_endless_headers(url).startswith(b"HTTP/1.1 4")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=START_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert out == ""  # notices go to stderr, as on stdio where stdout is the protocol
    assert "Traceback" not in err

"""`alltoken-agent mcp --transport http` as a real process: announces its URL, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

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
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=START_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert out == ""  # notices go to stderr, as on stdio where stdout is the protocol
    assert "Traceback" not in err

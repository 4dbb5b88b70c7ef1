"""Tracing is an extra: without it nothing changes, and asking for it says what to install.

The import checks run in a subprocess: this test process has OpenTelemetry loaded
already (the span tests use it), so only a fresh interpreter can show what importing
and running the package pulls in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent import Agent
from alltoken_agent.tracing import INSTALL_HINT, instrument
from tests.gateway.helpers import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60

RUN_WITHOUT_TRACING = """
import sys
import alltoken_agent
import alltoken_agent.tracing
from alltoken_agent import Agent, calculate

agent = Agent(tools=[calculate])
print(agent.run_sync("What is 2+3?").output)
agent.close_sync()
print("loaded:", sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
"""


def run_python(code: str, server: Any) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose environment points the agent at ``server``."""
    env = {
        **os.environ,
        "ALLTOKEN_API_KEY": TEST_KEY,
        "ALLTOKEN_AGENT_BASE_URL": server.base_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.mark.slow
def test_importing_and_running_an_agent_never_imports_opentelemetry(sim: Any) -> None:
    done = run_python(RUN_WITHOUT_TRACING, sim)
    assert done.returncode == 0, done.stderr
    assert "calculate returned: expression=2+3, result=5" in done.stdout
    assert "loaded: []" in done.stdout


def test_instrument_without_opentelemetry_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import opentelemetry` fail as if it were not installed;
    # the module that imports it is dropped so it is imported afresh (monkeypatch puts
    # both back afterwards).
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "alltoken_agent.tracing._spans", raising=False)
    agent = Agent()
    with pytest.raises(ModuleNotFoundError) as caught:
        instrument(agent)
    message = str(caught.value)
    assert message == f"tracing needs OpenTelemetry, which is not installed: {INSTALL_HINT}"
    assert INSTALL_HINT == "pip install 'alltoken-agent[otel]'"
    assert caught.value.name == "opentelemetry"


@pytest.mark.slow
def test_the_module_docstring_example_runs(sim: Any) -> None:
    pytest.importorskip("opentelemetry.sdk")
    import alltoken_agent.tracing as tracing

    doc = tracing.__doc__ or ""
    example = doc.split("```python\n", 1)[1].split("```", 1)[0]
    done = run_python(example, sim)
    assert done.returncode == 0, done.stderr
    assert "(simulated) calculate returned: expression=2+3, result=5." in done.stdout
    for name in ('"invoke_agent calculator"', '"chat minimax-m2.7"', '"execute_tool calculate"'):
        assert f'"name": {name}' in done.stdout

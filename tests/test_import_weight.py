"""What ``import alltoken_agent.gateway`` and ``import alltoken_agent.agent`` load.

Each check runs in a fresh interpreter: this test process has imported everything
already, so only a new one shows what an import pulls in. The times are measured by
bench/import_time.py, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NEVER = ("sqlalchemy", "openai", "starlette", "uvicorn", "PIL")
"""Heavy libraries that talking to a gateway or running an agent needs none of."""
FRONT_ENDS = ("typer", "textual", "fastapi", "mcp")
"""The core never imports a front end's framework (docs/architecture.md)."""
PROBE = """
import json, sys
import {module}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def top_level_modules(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after ``import module``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", ["alltoken_agent.gateway", "alltoken_agent.agent"])
def test_the_core_imports_nothing_heavy(module: str) -> None:
    loaded = top_level_modules(module)
    assert "alltoken_agent" in loaded and "httpx" in loaded  # the probe did import it
    assert sorted(loaded & {*NEVER, *FRONT_ENDS}) == []

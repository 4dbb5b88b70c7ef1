"""Every script in examples/ runs as a user would run it: a subprocess with no API key.

End to end on purpose: each example starts the offline simulator itself (no key means
`Gateway.offline()`), so these tests check that the examples still run against the
current API and still show what they claim to, not only that they import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTICE = "no ALLTOKEN_API_KEY: running on the offline simulator"
TIMEOUT = 60

# What each example must print on stdout when it runs on the simulator. A new example
# needs an entry here, or its test fails.
EXPECTATIONS: dict[str, tuple[str, ...]] = {
    "headless.py": (
        "Q: What time is it in Tokyo?",
        "Asia/Tokyo",
        "Q: What is 12*(3+4)?\nA: (simulated) calculate returned: expression=12*(3+4), result=84.",
        "sync: (simulated) calculate returned: expression=12*(3+4), result=84.",
    ),
    "hooks.py": (
        "[message:user] What is 12*(3+4)?",
        "[tool:call] calculate({'expression': '12*(3+4)'})",
        '[tool:result] calculate ok: {"expression": "12*(3+4)", "result": 84}',
        # the streamed deltas, printed by the stream:delta hook on a line of their own
        "\n(simulated) calculate returned: expression=12*(3+4), result=84.\n",
        "[usage] minimax-m2.7:",
        "[cost] minimax-m2.7: $",
        "[message:assistant] assistant: (simulated) calculate returned: "
        "expression=12*(3+4), result=84.",
        "final answer: (simulated) calculate returned: expression=12*(3+4), result=84.",
    ),
    "custom_tools.py": (
        '"name": "convert_length"',
        '"enum": [',
        '"description": "The unit of `value`."',
        "5 km in mi: 3.106856",
        "capital of Japan: Tokyo",
        "the model would read: no data for 'Atlantis'; known countries: France, Japan",
        "agent tools: convert_length, lookup_capital, count_words",
        "Q: What is the capital of Kenya?\ntools called: none",
    ),
    "structured_output.py": (
        "Recipe: simulated (serves 1)",
        "  - 1 simulated simulated",
        "  1. simulated",
    ),
    "vision.py": (
        # the README's vision call: the text and the picture reach the model as parts
        "You said: What is in this picture? You sent 1 image (JPEG, 64x48).",
        "sent parts: ['text', 'image_url']",
    ),
    "streaming_events.py": (
        "stream:start       step 1: asking minimax-m2.7",
        "tool:call          get_current_time({'timezone': 'Asia/Tokyo'})",
        "stream:delta       '(simulated)'",
        "message:assistant  (simulated) get_current_time returned:",
        "tool calls: ['get_current_time']",
        "steps:      2, stop reason: stop",
        "cost:       $",
    ),
}


def example_files() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_every_registered_example_exists() -> None:
    assert sorted(EXPECTATIONS) == example_files()


@pytest.mark.slow
@pytest.mark.parametrize("name", example_files())
def test_example_runs_on_the_simulator_without_a_key(name: str, tmp_path: Path) -> None:
    expected = EXPECTATIONS.get(name)
    if expected is None:
        pytest.fail(f"examples/{name} has no expectations; add them to EXPECTATIONS")
    # A clean environment: no API keys, config and data under tmp_path.
    env = {"PATH": os.environ.get("PATH", ""), "ALLTOKEN_AGENT_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    # The notice and nothing else: no traceback, warning or "Exception ignored".
    assert done.stderr.splitlines() and set(done.stderr.splitlines()) == {NOTICE}, done.stderr
    missing = [text for text in expected if text not in done.stdout]
    assert not missing, f"missing from stdout: {missing}\n--- stdout ---\n{done.stdout}"

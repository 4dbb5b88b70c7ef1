"""The default built-in tools' schemas are written out, their validators made on first call.

``Tool(function)`` builds a pydantic model of the arguments, which ``chat`` paid for
before every request; agent/builtin_tools.py writes the two default tools' schemas
out instead. These tests pin what the model sees and what a bad call answers to what
``Tool()`` gives for the same functions, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alltoken_agent.agent import builtin_tools
from alltoken_agent.agent.function_tool import ToolContext
from alltoken_agent.agent.tools import Tool

ROOT = Path(__file__).resolve().parents[2]
LOCAL = {
    "get_current_time": builtin_tools._current_time,
    "calculate": builtin_tools._calculate,
}


def described(name: str) -> Tool:
    """The tool as ``Tool()`` describes its function (pydantic's schema and validator)."""
    return Tool(LOCAL[name], name=name, timeout=10.0)


@pytest.mark.parametrize("name", sorted(LOCAL))
def test_the_written_schema_is_what_tool_makes_of_the_function(name: str) -> None:
    ours, theirs = getattr(builtin_tools, name), described(name)
    # The same bytes in a request's `tools`, key order included.
    assert json.dumps(ours.wire_definition()) == json.dumps(theirs.wire_definition())
    assert (ours.name, ours.timeout, ours.requires_approval) == (
        theirs.name,
        theirs.timeout,
        theirs.requires_approval,
    )
    assert ours.__doc__ == theirs.__doc__ and ours.__name__ == theirs.__name__


CALLS = [
    ("calculate", '{"expression": "2 ^ 10"}'),
    ("calculate", '{"expression": 5}'),
    ("calculate", "{}"),
    ("calculate", '{"expression": "1/0"}'),
    ("calculate", '{"expression": "1", "extra": true}'),
    ("calculate", "[1]"),
    ("get_current_time", '{"timezone": "UTC"}'),
    ("get_current_time", "{}"),
    ("get_current_time", '{"timezone": 3}'),
    ("get_current_time", '{"timezone": "Mars/Olympus"}'),
]


@pytest.mark.parametrize(("name", "arguments"), CALLS)
async def test_a_call_answers_as_the_described_tool_does(name: str, arguments: str) -> None:
    context = ToolContext(None, "m", "call-1", 1)  # type: ignore[arg-type]  # no gateway needed
    ours = await getattr(builtin_tools, name).run(arguments, context)
    theirs = await described(name).run(arguments, context)
    if name == "get_current_time" and not theirs.is_error:  # the clock moved on between them
        assert json.loads(ours.content).keys() == json.loads(theirs.content).keys()
        assert json.loads(ours.content)["timezone"] == json.loads(theirs.content)["timezone"]
    else:
        assert (ours.content, ours.is_error) == (theirs.content, theirs.is_error)


@pytest.mark.slow
def test_naming_the_default_tools_builds_no_pydantic_model_until_one_is_called() -> None:
    probe = (
        "import asyncio, sys\n"
        "from alltoken_agent.agent import builtin_tools as b\n"
        "from alltoken_agent.agent.function_tool import ToolContext\n"
        "tools = b.resolve_tool_names('default')\n"
        "sent = [t.wire_definition() for t in tools]\n"
        "built = 'pydantic.plugin._loader' in sys.modules\n"
        'outcome = asyncio.run(b.calculate.run(\'{"expression": "1+1"}\', '
        "ToolContext(None, 'm', 'c', 1)))\n"
        "print(built, 'pydantic.plugin._loader' in sys.modules, outcome.content)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    first, after, content = done.stdout.split(maxsplit=2)
    assert (first, after) == ("False", "True")
    assert json.loads(content) == {"expression": "1+1", "result": 2}


async def test_each_tool_makes_its_validator_once() -> None:
    tool = builtin_tools._local_tool(
        builtin_tools._calculate, "calculate", {"expression": {"type": "string"}}
    )
    binder: Any = tool._bind
    assert binder._bind is None  # nothing made yet
    context = ToolContext(None, "m", "call-1", 1)  # type: ignore[arg-type]
    made = []
    for _ in range(3):
        outcome = await tool.run('{"expression": "2*3"}', context)
        assert json.loads(outcome.content)["result"] == 6
        made.append(binder._bind)
    assert made[0] is not None and made.count(made[0]) == 3

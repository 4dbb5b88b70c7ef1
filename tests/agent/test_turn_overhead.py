"""The turn's cheaper tool path (issue 23) keeps what it did.

A tool call's first step runs before any timer is armed, and the rest runs under the
deadline counted from the call's start; a step's phases are yielded by the turn itself
(no generator per step), so their order and what each sees is pinned here.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from alltoken_agent import Agent, tool
from alltoken_agent.agent import ApprovalDecision, ApprovalRequest
from alltoken_agent.agent.tools import ToolContext, ToolOutcome
from tests.agent.test_agent import agent_on, close_gateways  # noqa: F401
from tests.agent.test_tools import ctx  # noqa: F401

TWO_CALLS = '[[call note {"text": "a"}]] [[call note {"text": "b"}]]'


async def test_a_first_step_that_outlasts_the_timeout_times_out_at_its_first_wait(
    ctx: ToolContext,  # noqa: F811
) -> None:
    reached: list[str] = []

    @tool(timeout=0.05)
    async def busy() -> str:
        time.sleep(0.2)  # past the deadline before the first wait
        reached.append("waiting")
        await asyncio.sleep(0)
        reached.append("after the wait")
        return "late"

    outcome = await busy.run("{}", ctx)
    assert outcome == ToolOutcome("Error: tool busy timed out after 0.05 s", True, {})
    assert reached == ["waiting"]


async def test_a_tool_that_waits_many_times_gets_what_each_wait_returns(
    ctx: ToolContext,  # noqa: F811
) -> None:
    @tool(timeout=5)
    async def relay(count: int) -> list[int]:
        loop = asyncio.get_running_loop()
        got = []
        for index in range(count):
            future: asyncio.Future[int] = loop.create_future()
            loop.call_soon(future.set_result, index * 10)
            got.append(await future)
            await asyncio.sleep(0)
        return got

    outcome = await relay.run('{"count": 3}', ctx)
    assert outcome == ToolOutcome("[0, 10, 20]", False, {"count": 3})


async def test_a_tool_that_never_waits_still_returns_and_fails_as_before(
    ctx: ToolContext,  # noqa: F811
) -> None:
    @tool(timeout=5)
    async def instant(x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x * 2

    assert await instant.run('{"x": 4}', ctx) == ToolOutcome("8", False, {"x": 4})
    failed = await instant.run('{"x": -1}', ctx)
    assert failed.is_error
    assert failed.content == "Error: tool instant failed: ValueError: negative"


async def test_a_cancelled_turn_reaches_the_tool_waiting_after_its_first_step(
    ctx: ToolContext,  # noqa: F811
) -> None:
    seen: list[str] = []
    started = asyncio.Event()

    @tool(timeout=30)
    async def waits() -> str:
        seen.append("first step")
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "never"

    task = asyncio.create_task(waits.run("{}", ctx))
    await started.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        seen.append("propagated")
    assert seen == ["first step", "cancelled", "propagated"]


def _note_tool(received: list[dict[str, Any]]) -> Any:
    @tool
    def note(text: str) -> str:
        """Note the text.

        Args:
            text: What to note.
        """
        received.append({"text": text})
        return f"noted {text}"

    return note


async def test_a_hook_that_edits_its_tool_call_arguments_does_not_change_the_call(
    sim: Any,
) -> None:
    received: list[dict[str, Any]] = []
    agent: Agent = agent_on(sim, tools=[_note_tool(received)])

    def meddle(name: str, arguments: Any, call_id: str) -> None:
        arguments["text"] = "edited by a hook"

    agent.on("tool:call", meddle)
    result = await agent.run(TWO_CALLS)
    assert received == [{"text": "a"}, {"text": "b"}]
    assert [c.arguments for c in result.tool_calls] == [{"text": "a"}, {"text": "b"}]


async def test_each_approval_is_announced_before_the_next_call_is_asked_about(
    sim: Any,
) -> None:
    order: list[str] = []

    def handler(request: ApprovalRequest) -> ApprovalDecision:
        order.append(f"asked {request.arguments['text']}")
        return ApprovalDecision.allow()

    received: list[dict[str, Any]] = []
    agent: Agent = agent_on(
        sim, tools=[_note_tool(received)], require_approval=["note"], approval_handler=handler
    )
    agent.on("tool:call", lambda name, arguments: order.append(f"call {arguments['text']}"))
    agent.on(
        "tool:approval",
        lambda name, arguments, call_id, decision: order.append(f"{decision} {arguments['text']}"),
    )
    agent.on("tool:result", lambda name, result: order.append(result))
    await agent.send(TWO_CALLS)
    assert order == [
        "call a",
        "call b",
        "asked a",
        "allow a",
        "asked b",
        "allow b",
        "noted a",
        "noted b",
    ]
    assert received == [{"text": "a"}, {"text": "b"}]


async def test_stream_readers_get_the_tool_phase_in_order(sim: Any) -> None:
    received: list[dict[str, Any]] = []
    agent: Agent = agent_on(sim, tools=[_note_tool(received)])
    names = [event.name async for event in agent.stream(TWO_CALLS)]
    tool_phase = [n for n in names if n.startswith("tool:")]
    assert tool_phase == ["tool:call", "tool:call", "tool:result", "tool:result"]
    assert names.index("tool:result") < len(names) - 1  # the answer's request follows


def test_an_events_payload_is_its_fields_in_order_for_none_one_and_many() -> None:
    from dataclasses import fields

    from alltoken_agent.agent._model_requests import stream_delta
    from alltoken_agent.agent.events import (
        ContextTrimmedEvent,
        ReasoningStartEvent,
        StreamDeltaEvent,
        ThinkingEndEvent,
        ToolResultEvent,
    )

    events: list[Any] = [
        ReasoningStartEvent(),
        ThinkingEndEvent(outcome="cancelled"),
        ToolResultEvent(tool_name="t", result="r", call_id="c", is_error=True),
        ContextTrimmedEvent(model="m", dropped=2, tokens_before=9, tokens_after=5, limit=8),
        StreamDeltaEvent(delta="b", accumulated="ab"),
        stream_delta("b", ["a", "b", "c"][:2]),
    ]
    for event in events * 2:  # the second pass reads each class's kept getter
        expected = tuple(getattr(event, f.name) for f in fields(event) if f.name != "name")
        assert event.args == expected
    assert events[-1].args == ("b", "ab")
    assert events[0].args == () and events[1].args == ("cancelled",)

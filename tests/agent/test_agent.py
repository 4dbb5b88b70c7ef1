"""The agent's tool loop against the simulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from alltoken_agent import (
    Agent,
    MaxStepsExceededError,
    RunResult,
    ToolCallRecord,
    calculate,
    get_current_time,
    tool,
)
from tests.gateway.helpers import gateway_for


def chat_bodies(server: Any) -> list[dict[str, Any]]:
    return [r.json for r in server.state.requests if r.path.endswith("/chat/completions")]


_open: list[Any] = []


def agent_on(server: Any, **kwargs: Any) -> Agent:
    kwargs.setdefault("tools", [get_current_time, calculate])
    gateway = gateway_for(server)
    _open.append(gateway)
    return Agent(gateway=gateway, **kwargs)


@pytest.fixture(autouse=True)
async def close_gateways() -> Any:
    yield
    while _open:
        await _open.pop().aclose()


def assert_history_consistent(messages: list[dict[str, Any]]) -> None:
    """Every assistant tool call is followed by exactly its results, in call order."""
    for index, message in enumerate(messages):
        if message.get("role") == "assistant" and message.get("tool_calls"):
            ids = [c["id"] for c in message["tool_calls"]]
            following = messages[index + 1 : index + 1 + len(ids)]
            assert [m.get("tool_call_id") for m in following] == ids


@pytest.mark.slow
async def test_time_question_runs_the_time_tool_and_answers_with_its_result(sim: Any) -> None:
    agent = agent_on(sim)
    result = await agent.run("What time is it in Tokyo?")
    assert [c.name for c in result.tool_calls] == ["get_current_time"]
    call = result.tool_calls[0]
    assert call.arguments == {"timezone": "Asia/Tokyo"} and not call.is_error
    answer = json.loads(call.result)
    assert answer["timezone"] == "Asia/Tokyo"
    assert answer["time"] in result.text
    assert result.steps == 2 and result.stop_reason == "stop"
    first, second = chat_bodies(sim)
    assert [t["function"]["name"] for t in first["tools"]] == ["get_current_time", "calculate"]
    assert second["messages"][-1]["role"] == "tool"


async def test_calculation_runs_calculate(sim: Any) -> None:
    text = await agent_on(sim).send("What is 12*(3+4)?")
    assert "84" in text


async def test_parallel_calls_run_concurrently_and_results_keep_call_order(sim: Any) -> None:
    started: list[str] = []
    release = asyncio.Event()

    @tool
    async def slow(label: str) -> str:
        """Wait, then echo the label."""
        started.append(label)
        if len(started) == 2:
            release.set()
        await asyncio.wait_for(release.wait(), 2)  # deadlocks unless both run at once
        return f"done {label}"

    agent = agent_on(sim, tools=[slow])
    prompt = '[[call slow {"label": "a"}]] [[call slow {"label": "b"}]]'
    result = await agent.run(prompt)
    assert [c.result for c in result.tool_calls] == ["done a", "done b"]
    tool_messages = [m for m in agent.get_messages() if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["done a", "done b"]
    assert_history_consistent(agent.get_messages())


async def test_raising_tool_bad_arguments_and_unknown_tool_are_recovered(sim: Any) -> None:
    @tool
    def explode() -> str:
        """Always fails."""
        raise RuntimeError("kaboom")

    agent = agent_on(sim, tools=[explode, calculate])
    prompt = '[[call explode {}]] [[call calculate {"nope": 1}]] [[call missing_tool {}]]'
    result = await agent.run(prompt)
    records = {c.name: c for c in result.tool_calls}
    assert all(c.is_error for c in result.tool_calls)
    assert "kaboom" in records["explode"].result
    assert "expression" in records["calculate"].result
    assert "unknown tool 'missing_tool'" in records["missing_tool"].result
    # the model saw every error and still answered
    assert result.stop_reason == "stop" and "kaboom" in result.text
    assert_history_consistent(agent.get_messages())


async def test_unparseable_streamed_arguments_retry_the_step_once_without_streaming(
    sim: Any,
) -> None:
    agent = agent_on(sim)
    result = await agent.run("[[call calculate {not json]]")
    streamed = [b["stream"] for b in chat_bodies(sim)]
    assert streamed[:2] == [True, False]  # the non-streamed retry of step 1
    assert result.tool_calls[0].is_error
    assert "not valid JSON" in result.tool_calls[0].result


async def test_max_steps_stops_visibly_and_leaves_a_consistent_history(sim: Any) -> None:
    agent = agent_on(sim, max_steps=2)
    prompt = (
        '[[call calculate {"expression": "1+1"}]] [[then]] '
        '[[call calculate {"expression": "2+2"}]] [[then]] '
        '[[call calculate {"expression": "3+3"}]]'
    )
    with pytest.raises(MaxStepsExceededError, match="max_steps") as caught:
        await agent.send(prompt)
    partial = caught.value.result
    assert partial.stop_reason == "max_steps" and partial.steps == 2
    assert [json.loads(c.result)["result"] for c in partial.tool_calls] == [2, 4]
    assert_history_consistent(agent.get_messages())


async def test_cancelling_mid_stream_keeps_history_consistent(sim: Any) -> None:
    agent = agent_on(sim)
    agent.gateway  # noqa: B018 - created before the fault is queued
    sim.state.enqueue_faults(["stall:3:5"])
    seen = asyncio.Event()
    agent.on("stream:delta", lambda delta, acc: seen.set())
    task = asyncio.create_task(agent.send("hello there"))
    await asyncio.wait_for(seen.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = agent.get_messages()
    assert [m["role"] for m in messages] == ["system", "user"]
    # the agent is still usable afterwards
    assert "simulated" in (await agent.send("again")).lower()


async def test_cancelling_during_tools_drops_the_unfinished_step(sim: Any) -> None:
    entered = asyncio.Event()

    @tool
    async def hang() -> str:
        """Never finishes in time."""
        entered.set()
        await asyncio.sleep(30)
        return "late"

    agent = agent_on(sim, tools=[hang])
    task = asyncio.create_task(agent.send("[[call hang {}]]"))
    await asyncio.wait_for(entered.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = agent.get_messages()
    assert [m["role"] for m in messages] == ["system", "user"]
    assert_history_consistent(messages)


async def test_tool_round_trip_event_order(sim: Any) -> None:
    agent = agent_on(sim)
    names = [event.name async for event in agent.stream("What is 2+3?")]
    collapsed = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
    assert collapsed == [
        "message:user",
        "thinking:start",
        "stream:start",
        "stream:end",
        "usage",
        "cost",
        "tool:call",
        "tool:result",
        "stream:start",
        "stream:delta",
        "stream:end",
        "usage",
        "cost",
        "message:assistant",
        "thinking:end",
    ]


async def test_hooks_get_seed_payloads_sync_and_async_and_a_broken_hook_is_reported(
    sim: Any,
) -> None:
    agent = agent_on(sim)
    calls: list[tuple[str, Any, str]] = []
    results: list[tuple[str, str]] = []
    deltas: list[tuple[str, str]] = []
    errors: list[tuple[BaseException, str]] = []

    async def on_result(name: str, result: str, call_id: str, is_error: bool) -> None:
        results.append((name, result))

    def broken(content: str) -> None:
        raise ValueError("hook bug")

    agent.on("tool:call", lambda name, args, call_id: calls.append((name, args, call_id)))
    agent.on("tool:result", on_result)
    agent.on("stream:delta", lambda delta, accumulated: deltas.append((delta, accumulated)))
    agent.on("message:assistant", broken)
    agent.on("error", lambda error, source: errors.append((error, source)))
    text = await agent.send("What is 2+3?")
    assert calls and calls[0][0] == "calculate" and calls[0][1] == {"expression": "2+3"}
    assert results == [("calculate", '{"expression": "2+3", "result": 5}')]
    assert deltas[-1][1] == text and "".join(d for d, _ in deltas) == text
    assert len(errors) == 1 and str(errors[0][0]) == "hook bug" and errors[0][1] == "hook"
    agent.off("tool:call")
    await agent.send("What is 1+1?")
    assert len(calls) == 1


async def test_non_streaming_send_still_runs_the_tool_loop(sim: Any) -> None:
    agent = agent_on(sim)
    text = await agent.send("What is 6*7?", stream=False)
    assert "42" in text
    assert {b["stream"] for b in chat_bodies(sim)} == {False}


async def test_usage_and_cost_are_summed_over_steps(sim: Any) -> None:
    result = await agent_on(sim).run("What is 6*7?")
    assert result.usage.total_tokens > 0 and result.cost is not None
    assert len(result.request_ids) == 2


@pytest.mark.slow
async def test_official_sdk_accepts_get_messages_unchanged(sim: Any) -> None:
    agent = agent_on(sim, thinking=True, model="deepseek-v4-flash")
    await agent.send("What is 2+3?")
    messages = agent.get_messages()
    client = agent.gateway.openai_client()
    completion = client.chat.completions.create(model="deepseek-v4-flash", messages=messages)
    client.close()
    assert completion.choices[0].message.content
    assert chat_bodies(sim)[-1]["messages"] == json.loads(json.dumps(messages))


def test_run_sync_works_without_an_event_loop(
    alltoken_sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alltoken_sim.state.reset()
    # No gateway given: the agent makes (and later closes) its own from the environment.
    monkeypatch.setenv("ALLTOKEN_API_KEY", "sk-test-run-sync-000000")
    monkeypatch.setenv("ALLTOKEN_AGENT_BASE_URL", alltoken_sim.base_url)
    agent = Agent(tools=[calculate])
    result = agent.run_sync("What is 4+5?")
    # The whole RunResult, as run() gives: the answer and what it took.
    assert isinstance(result, RunResult)
    assert "9" in result.output
    assert result.text == result.output
    assert [call.name for call in result.tool_calls] == ["calculate"]
    assert result.steps == 2
    assert "simulated" in agent.run_sync("and now?").output.lower()
    agent.close_sync()


async def test_history_helpers(sim: Any) -> None:
    agent = agent_on(sim, instructions="Be terse.")
    await agent.send("hello there")
    copy = agent.get_messages()
    copy.append({"role": "user", "content": "not really"})
    assert len(agent.get_messages()) == 3
    agent.set_instructions("Be kind.")
    assert agent.get_messages()[0] == {"role": "system", "content": "Be kind."}
    agent.clear_history()
    assert agent.get_messages() == [{"role": "system", "content": "Be kind."}]
    await agent.send("again")
    assert chat_bodies(sim)[-1]["messages"][0]["content"] == "Be kind."


def test_tool_call_record_is_plain_data() -> None:
    record = ToolCallRecord(
        call_id="c1", name="x", arguments={}, result="ok", is_error=False, step=1
    )
    assert record.result == "ok"

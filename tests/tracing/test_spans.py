"""Spans of agent runs on the simulator, over loopback, into the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from alltoken_agent import (
    Agent,
    AuthenticationError,
    Gateway,
    MaxStepsExceededError,
    UserError,
    calculate,
    tool,
)
from alltoken_agent.agent import ApprovalDecision
from alltoken_agent.tracing import CONTENT_ENV
from tests.gateway.helpers import TEST_KEY
from tests.tracing.helpers import (
    attribute_text,
    chat_requests,
    operation,
    parent_of,
    replayed_cost_comments,
)

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.trace import SpanKind, StatusCode

QUESTION = "What is 2+3?"
CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
}


def spans_of(exporter: Any) -> tuple[Any, list[Any], list[Any]]:
    """The one run span, the request spans and the tool spans, each in start order."""
    spans = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time)
    (run,) = operation(spans, "invoke_agent")
    return run, operation(spans, "chat"), operation(spans, "execute_tool")


@pytest.mark.slow
async def test_a_run_is_one_span_with_its_requests_and_tool_calls_as_children(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent, agent_name="calculator")
    await agent.send(QUESTION)

    run, requests, tools = spans_of(exporter)
    assert len(exporter.get_finished_spans()) == 4
    assert (len(requests), len(tools)) == (2, 1)
    assert run.name == "invoke_agent calculator" and run.kind is SpanKind.INTERNAL
    assert run.parent is None and run.status.status_code is StatusCode.UNSET
    assert [s.name for s in requests] == ["chat minimax-m2.7"] * 2
    assert {s.kind for s in requests} == {SpanKind.CLIENT}
    assert tools[0].name == "execute_tool calculate" and tools[0].kind is SpanKind.INTERNAL
    for child in [*requests, *tools]:
        assert parent_of(child) == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
        assert run.start_time <= child.start_time <= child.end_time <= run.end_time
    # The tool ran between the two requests.
    assert requests[0].end_time <= tools[0].start_time
    assert tools[0].end_time <= requests[1].start_time
    assert run.attributes["gen_ai.agent.id"] == agent.id
    assert run.attributes["gen_ai.agent.name"] == "calculator"
    assert run.attributes["gen_ai.provider.name"] == "sim-alltoken"
    assert run.attributes["gen_ai.request.model"] == "minimax-m2.7"


@pytest.mark.slow
async def test_request_spans_carry_the_wire_usage_cost_request_id_and_finish_reason(
    sim: Any, gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    await agent.send(QUESTION)
    wire = chat_requests(sim)
    comments = await replayed_cost_comments(sim, wire)

    run, requests, _ = spans_of(exporter)
    assert len(wire) == len(requests) == 2
    for span, request, comment, step, reason in zip(
        requests, wire, comments, (1, 2), ("tool_calls", "stop"), strict=True
    ):
        attributes = span.attributes
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "sim-alltoken"
        assert attributes["gen_ai.request.model"] == request.json["model"] == "minimax-m2.7"
        assert attributes["gen_ai.response.model"] == "minimax-m2.7"
        assert attributes["gen_ai.request.stream"] is True
        assert attributes["gen_ai.response.time_to_first_chunk"] > 0
        assert attributes["gen_ai.usage.input_tokens"] == comment["prompt_tokens"]
        assert attributes["gen_ai.usage.output_tokens"] == comment["completion_tokens"]
        assert Decimal(repr(attributes["alltoken.cost_usd"])) == Decimal(comment["cost"])
        assert attributes["alltoken.cost_source"] == "gateway"
        assert attributes["alltoken.request_id"] == request.request_id
        assert attributes["gen_ai.response.finish_reasons"] == (reason,)
        assert attributes["alltoken.step"] == step
        assert attributes["alltoken.attempts"] == 1
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["server.port"] == int(sim.base_url.split(":")[2].split("/")[0])
        assert "error.type" not in attributes
        assert "gen_ai.conversation.compacted" not in attributes
        assert span.status.status_code is StatusCode.UNSET
    # The run span sums its requests.
    assert run.attributes["alltoken.request_count"] == 2
    assert run.attributes["gen_ai.usage.input_tokens"] == sum(c["prompt_tokens"] for c in comments)
    assert run.attributes["gen_ai.usage.output_tokens"] == sum(
        c["completion_tokens"] for c in comments
    )
    total = sum(Decimal(c["cost"]) for c in comments)
    assert Decimal(repr(run.attributes["alltoken.cost_usd"])) == total


async def test_the_tool_span_names_the_call_the_model_made(
    sim: Any, gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    await agent.send(QUESTION)

    _, _, (span,) = spans_of(exporter)
    # The second request sent the call back: that is the id the model gave it.
    sent = chat_requests(sim)[1].json["messages"]
    (call,) = next(m["tool_calls"] for m in sent if m.get("tool_calls"))
    assert span.attributes["gen_ai.tool.name"] == "calculate"
    assert span.attributes["gen_ai.tool.call.id"] == call["id"]
    assert span.attributes["gen_ai.tool.type"] == "function"
    assert span.attributes["gen_ai.tool.description"] == calculate.description
    assert span.status.status_code is StatusCode.UNSET


async def test_content_stays_out_of_the_spans_by_default(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    instrumentation = traced(agent)
    answer = await agent.send(QUESTION)

    spans = exporter.get_finished_spans()
    assert not instrumentation.capture_content
    assert not CONTENT_KEYS & {key for s in spans for key in s.attributes}
    text = attribute_text(spans)
    for secret in (QUESTION, "2+3", answer, agent.get_messages()[0]["content"]):
        assert secret not in text


async def test_content_is_captured_when_switched_on(
    sim: Any, gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent, capture_content=True)
    answer = await agent.send(QUESTION)

    run, requests, (tool_span,) = spans_of(exporter)
    system = agent.get_messages()[0]["content"]
    assert json.loads(run.attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": system}
    ]
    assert json.loads(run.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    ]
    assert json.loads(run.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": answer}],
            "finish_reason": "stop",
        }
    ]
    # Each request holds exactly the conversation it sent.
    for span, request in zip(requests, chat_requests(sim), strict=True):
        sent = json.loads(span.attributes["gen_ai.input.messages"])
        assert [m["role"] for m in sent] == [m["role"] for m in request.json["messages"]]
    first_in = json.loads(requests[0].attributes["gen_ai.input.messages"])
    assert first_in[1] == {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}
    (call,) = json.loads(requests[0].attributes["gen_ai.output.messages"])[0]["parts"]
    assert call == {
        "type": "tool_call",
        "id": tool_span.attributes["gen_ai.tool.call.id"],
        "name": "calculate",
        "arguments": {"expression": "2+3"},
    }
    second_in = json.loads(requests[1].attributes["gen_ai.input.messages"])
    assert second_in[-1] == {
        "role": "tool",
        "parts": [
            {
                "type": "tool_call_response",
                "id": call["id"],
                "response": '{"expression": "2+3", "result": 5}',
            }
        ],
    }
    assert json.loads(requests[1].attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": answer}],
            "finish_reason": "stop",
        }
    ]
    assert json.loads(tool_span.attributes["gen_ai.tool.call.arguments"]) == {"expression": "2+3"}
    assert json.loads(tool_span.attributes["gen_ai.tool.call.result"]) == {
        "expression": "2+3",
        "result": 5,
    }


async def test_the_environment_switches_capture_on_unless_told_otherwise(
    gateway: Gateway, traced: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "1")
    assert traced(Agent(gateway=gateway)).capture_content
    assert not traced(Agent(gateway=gateway), capture_content=False).capture_content
    monkeypatch.setenv(CONTENT_ENV, "0")
    assert not traced(Agent(gateway=gateway)).capture_content


async def test_captured_content_never_holds_the_api_key(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent, capture_content=True)
    await agent.send(f"My key is {TEST_KEY}. {QUESTION}")

    text = attribute_text(exporter.get_finished_spans())
    assert "My key is" in text  # the content is there...
    assert TEST_KEY not in text  # ...with the key masked


async def test_a_failed_request_marks_its_span_and_the_run_with_the_error_code(
    sim: Any, gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    sim.state.enqueue_faults(["401"])
    with pytest.raises(AuthenticationError):
        await agent.send(QUESTION)

    run, (request,), tools = spans_of(exporter)
    (wire,) = chat_requests(sim)
    assert wire.status == 401 and not tools
    assert parent_of(request) == run.context.span_id
    assert request.status.status_code is StatusCode.ERROR
    assert request.status.description == "HTTP 401: invalid_api_key"
    assert request.attributes["error.type"] == "invalid_api_key"
    assert request.attributes["http.response.status_code"] == 401
    assert request.attributes["alltoken.request_id"] == wire.request_id
    assert request.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert "gen_ai.usage.input_tokens" not in request.attributes
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes["error.type"] == "invalid_api_key"
    assert [e.name for e in run.events] == ["exception"]
    assert run.events[0].attributes["exception.type"] == "alltoken_agent.AuthenticationError"
    assert TEST_KEY not in attribute_text(exporter.get_finished_spans())


async def test_an_agent_error_ends_the_run_with_its_code(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate], max_steps=1)
    traced(agent)
    with pytest.raises(MaxStepsExceededError):
        await agent.send(QUESTION)

    run, requests, tools = spans_of(exporter)
    assert (len(requests), len(tools)) == (1, 1)
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes["error.type"] == "max_steps_exceeded"


async def test_a_tool_error_marks_the_tool_span(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    await agent.send('Divide. [[call calculate {"expression": "1/0"}]]')

    run, _, (span,) = spans_of(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "the tool failed"  # no content: the message stays out
    assert span.attributes["error.type"] == "tool_error"
    assert run.status.status_code is StatusCode.UNSET  # the model recovered


@pytest.mark.parametrize(
    ("decision", "error_type"),
    [
        (ApprovalDecision.allow(), None),
        (ApprovalDecision.deny("not today"), "denied"),
        (ApprovalDecision.edit({"expression": "10*10"}), None),
    ],
)
async def test_an_approval_decision_shows_on_the_tool_span(
    gateway: Gateway,
    traced: Any,
    exporter: Any,
    decision: ApprovalDecision,
    error_type: str | None,
) -> None:
    agent = Agent(
        gateway=gateway,
        tools=[calculate],
        require_approval=["calculate"],
        approval_handler=lambda request: decision,
    )
    traced(agent, capture_content=True)
    await agent.send('[[call calculate {"expression": "2+3"}]]')

    _, _, (span,) = spans_of(exporter)
    assert span.attributes["alltoken.tool.approval.decision"] == decision.action
    (event,) = span.events
    assert event.name == "alltoken.tool.approval"
    assert span.start_time <= event.timestamp <= span.end_time
    assert span.attributes.get("error.type") == error_type
    arguments = json.loads(span.attributes["gen_ai.tool.call.arguments"])
    expected = decision.arguments if decision.action == "edit" else {"expression": "2+3"}
    assert arguments == expected


async def test_a_raising_approval_handler_denies_the_tool_span_not_the_run(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    def broken(request: Any) -> bool:
        raise RuntimeError("approval UI crashed")

    agent = Agent(
        gateway=gateway, tools=[calculate], require_approval=["calculate"], approval_handler=broken
    )
    traced(agent)
    await agent.send('[[call calculate {"expression": "2+3"}]]')

    run, _, (span,) = spans_of(exporter)
    assert span.attributes["error.type"] == "denied"
    assert run.status.status_code is StatusCode.UNSET  # the loop went on to an answer


async def test_a_trimmed_request_captures_what_was_sent_and_says_it_was_compacted(
    sim: Any, gateway: Gateway, traced: Any, exporter: Any
) -> None:
    history: list[dict[str, Any]] = []
    for i in range(12):
        history.append({"role": "user", "content": f"question {i} " + "word " * 120})
        history.append({"role": "assistant", "content": f"answer {i} " + "word " * 120})
    agent = Agent(gateway=gateway, tools=[calculate], history=history, context_length=2500)
    traced(agent, capture_content=True)
    await agent.send(QUESTION)

    _, requests, _ = spans_of(exporter)
    for span, request in zip(requests, chat_requests(sim), strict=True):
        assert span.attributes["gen_ai.conversation.compacted"] is True
        captured = json.loads(span.attributes["gen_ai.input.messages"])
        sent = request.json["messages"]
        assert len(captured) == len(sent) < 1 + len(history)
        assert [m["role"] for m in captured] == [m["role"] for m in sent]
        first_user = next(m for m in sent if m["role"] == "user")["content"]
        assert captured[1]["parts"] == [{"type": "text", "content": first_user}]


async def test_non_streamed_runs_are_traced_alike(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    await agent.send(QUESTION, stream=False)

    _, requests, tools = spans_of(exporter)
    assert (len(requests), len(tools)) == (2, 1)
    assert [s.attributes["gen_ai.response.finish_reasons"] for s in requests] == [
        ("tool_calls",),
        ("stop",),
    ]
    assert not any("gen_ai.request.stream" in s.attributes for s in requests)


async def test_two_agents_running_at_once_keep_separate_traces(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    first = Agent(gateway=gateway, tools=[calculate])
    second = Agent(gateway=gateway, tools=[calculate])
    traced(first)
    traced(second)
    results = await asyncio.gather(first.run("What is 2+3?"), second.run("What is 6*7?"))

    spans = exporter.get_finished_spans()
    runs = operation(spans, "invoke_agent")
    assert len(runs) == 2 and len(spans) == 8
    assert runs[0].context.trace_id != runs[1].context.trace_id
    for agent, result in zip((first, second), results, strict=True):
        (run,) = [s for s in runs if s.attributes["gen_ai.agent.id"] == agent.id]
        children = [s for s in spans if parent_of(s) == run.context.span_id]
        assert {s.context.trace_id for s in children} == {run.context.trace_id}
        requests = operation(children, "chat")
        ids = [s.attributes["alltoken.request_id"] for s in sorted(requests, key=_start)]
        assert ids == result.request_ids
        (tool_span,) = operation(children, "execute_tool")
        assert tool_span.attributes["gen_ai.tool.call.id"] == result.tool_calls[0].call_id


async def test_without_a_provider_the_global_one_is_used(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    # No global provider is configured in the tests: the API's default makes no-op
    # spans, and the run goes on as before.
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent, tracer_provider=None)
    assert "calculate returned: expression=2+3, result=5" in await agent.send(QUESTION)
    assert exporter.get_finished_spans() == ()


async def test_uninstrument_stops_the_spans(gateway: Gateway, traced: Any, exporter: Any) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    instrumentation = traced(agent)
    await agent.send(QUESTION)
    assert len(exporter.get_finished_spans()) == 4

    instrumentation.uninstrument()
    instrumentation.uninstrument()  # twice is harmless
    exporter.clear()
    await agent.send(QUESTION)
    assert not instrumentation.active
    assert exporter.get_finished_spans() == ()


async def test_instrumentation_is_a_context_manager_and_refuses_doubles(
    gateway: Gateway, provider: Any, exporter: Any
) -> None:
    from alltoken_agent.tracing import instrument

    agent = Agent(gateway=gateway, tools=[calculate])
    with instrument(agent, tracer_provider=provider) as instrumentation:
        with pytest.raises(UserError, match="instrumented already"):
            instrument(agent, tracer_provider=provider)
        await agent.send(QUESTION)
    assert not instrumentation.active
    await agent.send(QUESTION)
    assert len(exporter.get_finished_spans()) == 4
    with instrument(agent, tracer_provider=provider):  # allowed again once stopped
        pass


async def test_a_stream_closed_early_ends_its_run_as_cancelled_right_away(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    events = agent.stream(QUESTION).__aiter__()
    async for event in events:
        if event.name == "tool:call":
            break
    assert exporter.get_finished_spans() == ()  # the request ends with the step, not before
    await events.aclose()  # type: ignore[attr-defined]
    # Closing the stream sends the run's thinking:end: its spans end now, not at the next run.
    (run,) = operation(exporter.get_finished_spans(), "invoke_agent")
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes["error.type"] == "cancelled"
    abandoned = [s for s in exporter.get_finished_spans() if parent_of(s) == run.context.span_id]
    assert sorted(s.name for s in abandoned) == ["chat minimax-m2.7", "execute_tool calculate"]
    (tool_span,) = operation(abandoned, "execute_tool")
    assert tool_span.attributes["error.type"] == "cancelled"

    await agent.send("What is 6*7?")
    runs = sorted(operation(exporter.get_finished_spans(), "invoke_agent"), key=_start)
    assert len(runs) == 2 and runs[1].status.status_code is StatusCode.UNSET


async def test_a_cancelled_task_ends_its_run_as_cancelled_right_away(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    entered = asyncio.Event()

    @tool
    async def hang() -> str:
        """Never finishes in time."""
        entered.set()
        await asyncio.sleep(30)
        return "late"

    agent = Agent(gateway=gateway, tools=[hang])
    traced(agent)
    task = asyncio.create_task(agent.send("[[call hang {}]]"))
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (run,) = operation(exporter.get_finished_spans(), "invoke_agent")
    assert run.attributes["error.type"] == "cancelled"
    (tool_span,) = operation(exporter.get_finished_spans(), "execute_tool")
    assert tool_span.attributes["error.type"] == "cancelled"


async def test_an_agent_run_from_another_agents_tool_nests_under_that_tool(
    gateway: Gateway, traced: Any, exporter: Any
) -> None:
    helper = Agent(gateway=gateway, tools=[calculate])

    @tool
    async def ask_helper(question: str) -> str:
        """Ask the helper agent.

        Args:
            question: What to ask.
        """
        return await helper.send(question)

    boss = Agent(gateway=gateway, tools=[ask_helper])
    traced(boss, agent_name="boss")
    traced(helper, agent_name="helper")
    await boss.send('Delegate. [[call ask_helper {"question": "What is 2+3?"}]]')

    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    boss_run, helper_run = by_name["invoke_agent boss"], by_name["invoke_agent helper"]
    delegation = by_name["execute_tool ask_helper"]
    assert len(spans) == 8  # 2 runs, 4 requests, 2 tool calls
    assert {s.context.trace_id for s in spans} == {boss_run.context.trace_id}
    assert parent_of(delegation) == boss_run.context.span_id
    assert parent_of(helper_run) == delegation.context.span_id
    helper_children = [s for s in spans if parent_of(s) == helper_run.context.span_id]
    assert sorted(s.name for s in helper_children) == [
        "chat minimax-m2.7",
        "chat minimax-m2.7",
        "execute_tool calculate",
    ]
    assert (
        len(operation([s for s in spans if parent_of(s) == boss_run.context.span_id], "chat")) == 2
    )


async def test_a_span_the_application_made_current_parents_the_run(
    gateway: Gateway, traced: Any, provider: Any, exporter: Any
) -> None:
    agent = Agent(gateway=gateway, tools=[calculate])
    traced(agent)
    with provider.get_tracer("app").start_as_current_span("handle request") as outer:
        await agent.send(QUESTION)

    run = operation(exporter.get_finished_spans(), "invoke_agent")[0]
    assert parent_of(run) == outer.get_span_context().span_id


async def test_a_fallback_shows_the_failed_model_and_its_attempts(
    gateway: Gateway, traced: Any, exporter: Any, sim: Any
) -> None:
    agent = Agent(model=["minimax-m2.7", "deepseek-v4-flash"], gateway=gateway)
    traced(agent)
    sim.state.enqueue_faults(["503", "503", "503"])  # the first model's try and 2 retries
    await agent.send("Hello")

    run, (failed, answered), _ = spans_of(exporter)
    assert failed.name == "chat minimax-m2.7" and answered.name == "chat deepseek-v4-flash"
    assert failed.attributes["alltoken.attempts"] == 3
    assert failed.attributes["http.response.status_code"] == 503
    assert failed.status.status_code is StatusCode.ERROR
    assert answered.status.status_code is StatusCode.UNSET
    assert run.status.status_code is StatusCode.UNSET


def _start(span: Any) -> int:
    return int(span.start_time)


def test_send_sync_is_traced_though_it_emits_no_stream_events(
    sim: Any, traced: Any, exporter: Any
) -> None:
    from tests.gateway.helpers import gateway_for

    agent = Agent(gateway=gateway_for(sim), tools=[calculate])
    traced(agent)
    try:
        assert "5" in agent.send_sync(QUESTION)
    finally:
        agent.close_sync()
    spans = exporter.get_finished_spans()
    (run,) = operation(spans, "invoke_agent")
    assert run.status.status_code is StatusCode.UNSET
    chats = operation(spans, "chat")
    (tool_span,) = operation(spans, "execute_tool")
    # Without stream:start no request is tied to a step, but every one is under the run.
    assert len(chats) == 2 and all(parent_of(s) == run.context.span_id for s in chats)
    assert parent_of(tool_span) == run.context.span_id

"""Human approval of tool calls, and fitting long conversations into the context window."""

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import Agent, calculate, tool
from alltoken_agent.agent import ApprovalDecision, ApprovalRequest
from alltoken_agent.config import Config
from alltoken_agent.errors import ContextLengthError
from tests.agent.test_agent import agent_on, chat_bodies, close_gateways  # noqa: F401

PROMPT = '[[call calculate {"expression": "2+3"}]]'


def tool_messages(sim: Any) -> list[str]:
    last = chat_bodies(sim)[-1]["messages"]
    return [m["content"] for m in last if m["role"] == "tool"]


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (ApprovalDecision.allow(), '{"expression": "2+3", "result": 5}'),
        (ApprovalDecision.deny("not today"), "Error: the call was not run: not today"),
        (
            ApprovalDecision.edit({"expression": "10*10"}),
            'Note: the user changed the arguments to {"expression": "10*10"}.\n'
            '{"expression": "10*10", "result": 100}',
        ),
    ],
)
async def test_each_decision_changes_what_the_model_receives(
    sim: Any, decision: ApprovalDecision, expected: str
) -> None:
    asked: list[ApprovalRequest] = []

    async def handler(request: ApprovalRequest) -> ApprovalDecision:
        asked.append(request)
        return decision

    agent = agent_on(
        sim, tools=[calculate], require_approval=["calculate"], approval_handler=handler
    )
    events: list[Any] = []
    agent.on("tool:approval", lambda *payload: events.append(payload))
    await agent.send(PROMPT)
    assert asked == [ApprovalRequest("calculate", {"expression": "2+3"}, asked[0].call_id)]
    assert tool_messages(sim) == [expected]
    assert events[0][3] == decision.action


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_raising_approval_handler_is_reported_and_counts_as_a_denial(
    sim: Any, is_async: bool
) -> None:
    def broken(request: ApprovalRequest) -> ApprovalDecision:
        raise RuntimeError("approval UI crashed")

    async def broken_async(request: ApprovalRequest) -> ApprovalDecision:
        broken(request)
        return ApprovalDecision.allow()

    agent = agent_on(
        sim,
        tools=[calculate],
        require_approval=["calculate"],
        approval_handler=broken_async if is_async else broken,
    )
    errors: list[tuple[BaseException, str]] = []
    agent.on("error", lambda error, source: errors.append((error, source)))
    approvals: list[tuple[Any, ...]] = []
    agent.on("tool:approval", lambda *payload: approvals.append(payload))
    result = await agent.run(PROMPT)

    assert [(str(e), source) for e, source in errors] == [("approval UI crashed", "approval")]
    assert approvals[0][3] == "deny" and "approval UI crashed" in approvals[0][4]
    # the model read an error result and the loop went on to a final answer
    (content,) = tool_messages(sim)
    assert content.startswith("Error: the call was not run: the approval handler failed")
    assert "RuntimeError: approval UI crashed" in content
    assert result.tool_calls[0].is_error and result.stop_reason == "stop" and result.text
    assert [m["role"] for m in agent.get_messages()] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


async def test_a_raising_approval_handler_is_an_error_event_in_the_stream(sim: Any) -> None:
    def broken(request: ApprovalRequest) -> bool:
        raise KeyError("no terminal")

    agent = agent_on(sim, require_approval=["calculate"], approval_handler=broken)
    events = [event async for event in agent.stream(PROMPT)]
    names = [e.name for e in events]
    (error,) = [e for e in events if e.name == "error"]
    assert error.source == "approval" and isinstance(error.error, KeyError)
    assert error.to_dict()["source"] == "approval"
    assert names.index("error") + 1 == names.index("tool:approval")
    assert names[-2:] == ["message:assistant", "thinking:end"]


@pytest.mark.slow
async def test_without_a_handler_calls_are_denied_with_a_clear_reason(sim: Any) -> None:
    @tool(requires_approval=True)
    def delete_everything() -> str:
        """Dangerous."""
        raise AssertionError("must not run")

    agent = agent_on(sim, tools=[delete_everything])
    result = await agent.run("[[call delete_everything {}]]")
    assert result.tool_calls[0].is_error
    assert "nobody could approve it" in tool_messages(sim)[0]


async def test_config_policy_and_bool_handlers(sim: Any) -> None:
    config = Config.model_validate({"approval": {"tools": ["calculate"]}})
    agent = Agent(
        gateway=agent_on(sim).gateway,
        tools=[calculate],
        config=config,
        approval_handler=lambda request: False,
    )
    await agent.send(PROMPT)
    assert tool_messages(sim)[0].startswith("Error: the call was not run")


def long_history(turns: int) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    for i in range(turns):
        history.append({"role": "user", "content": f"question {i} " + "word " * 120})
        history.append({"role": "assistant", "content": f"answer {i} " + "word " * 120})
    return history


@pytest.mark.slow
async def test_long_history_is_trimmed_to_the_context_and_keeps_answering(sim: Any) -> None:
    agent = agent_on(sim, tools=[calculate], history=long_history(12), context_length=2500)
    trimmed: list[tuple[Any, ...]] = []
    agent.on("context:trimmed", lambda *payload: trimmed.append(payload))
    result = await agent.run("What is 2+3?")
    assert "5" in result.text and trimmed
    model, dropped, before, after, limit = trimmed[0]
    assert dropped > 0 and after < before and limit == 2500
    for body in chat_bodies(sim):
        messages = body["messages"]
        assert messages[0]["role"] == "system"
        assert messages[1]["role"] == "user"  # whole turns only: never starts mid-turn
        assert messages[-1]["role"] in ("user", "tool")
    # the tool call and its result travel together in the second request
    second = chat_bodies(sim)[1]["messages"]
    call_index = next(i for i, m in enumerate(second) if m.get("tool_calls"))
    assert second[call_index + 1]["role"] == "tool"
    # the full history is kept locally
    assert len(agent.get_messages()) == 1 + 24 + 4


async def test_fail_policy_raises_instead_of_trimming(sim: Any) -> None:
    agent = agent_on(
        sim, tools=[], history=long_history(12), context_length=2500, context_policy="fail"
    )
    with pytest.raises(ContextLengthError, match="context of 2500"):
        await agent.send("hello")
    assert chat_bodies(sim) == []


async def test_a_message_too_long_on_its_own_is_a_clear_error(sim: Any) -> None:
    agent = agent_on(sim, tools=[], context_length=1200)
    with pytest.raises(ContextLengthError, match="even the current message"):
        await agent.send("word " * 2000)


async def test_the_catalog_context_length_trims_a_long_conversation(sim: Any) -> None:
    from alltoken_agent.catalog import Catalog

    history = []
    for i in range(40):  # about 200,000 tokens: over deepseek-v3.2's 131,072
        history.append({"role": "user", "content": f"q{i} " + "word " * 2000})
        history.append({"role": "assistant", "content": f"a{i} " + "word " * 2000})
    agent = agent_on(sim, model="deepseek-v3.2", tools=[], history=history)
    limit = (await Catalog(agent.gateway).entry("deepseek-v3.2")).context_length
    assert limit == 131072
    trimmed: list[Any] = []
    agent.on("context:trimmed", lambda *payload: trimmed.append(payload))
    assert "simulated" in (await agent.send("and now?")).lower()
    assert trimmed and trimmed[0][4] == limit and trimmed[0][3] <= limit
    sent = chat_bodies(sim)[-1]["messages"]
    assert len(sent) < len(history) and sent[-1]["content"] == "and now?"


class CountingMessage(dict[str, Any]):
    """A message that counts how often its content is read: how much work a trim does."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        if key == "content":
            CountingMessage.reads += 1
        return super().get(key, default)


def test_the_trim_counts_each_message_a_bounded_number_of_times() -> None:
    """Linear, not quadratic: dropping a turn must not recount every kept message.

    Not end-to-end: the trim is a pure function, and how often it reads each
    message is what makes a long session slow (timing lives in bench/long_session.py).
    """
    from alltoken_agent.agent.context import fit_messages

    def history(turns: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [CountingMessage(role="system", content="be brief")]
        for i in range(turns):
            messages.append(CountingMessage(role="user", content=f"q{i} " + "word " * 40))
            messages.append(CountingMessage(role="assistant", content=f"a{i} " + "word " * 40))
        return messages

    reads = []
    for turns in (100, 1000):
        messages = history(turns)
        CountingMessage.reads = 0
        fit = fit_messages(messages, {}, limit=2000, policy="trim")
        reads.append(CountingMessage.reads / len(messages))
        assert fit.messages[0]["role"] == "system" and fit.messages[1]["role"] == "user"
        assert fit.dropped > 0 and fit.tokens_after <= 2000 - 1024
        assert fit.messages[-1] is messages[-1]
    assert reads[1] <= 4 and reads[1] <= reads[0] * 1.5  # reads per message do not grow


def test_the_linear_trim_keeps_what_the_turn_by_turn_trim_kept() -> None:
    """The same cut, counts and errors as dropping one turn at a time and recounting."""
    from alltoken_agent.agent.context import fit_messages, request_tokens

    messages: list[dict[str, Any]] = [{"role": "system", "content": "s " * 50}]
    for i in range(30):
        messages.append({"role": "user", "content": "u " * (20 + 7 * i)})
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"function": {"name": "f", "arguments": "x" * (10 * i)}}],
            }
        )
        messages.append({"role": "tool", "content": "r " * (5 * i)})
        messages.append({"role": "assistant", "content": "a " * (3 * i)})
    fields = {"max_tokens": 100, "tools": [{"type": "function", "function": {"name": "f"}}]}
    for limit in (500, 900, 2000, 4000):
        fit = fit_messages(messages, fields, limit=limit, policy="trim")
        expected = next(
            messages[:1] + messages[start:]
            for start in range(5, len(messages), 4)
            if request_tokens(messages[:1] + messages[start:], fields) <= limit - 100
        )
        assert fit.messages == expected and fit.dropped == len(messages) - len(expected)
        assert fit.tokens_after == request_tokens(expected, fields)
    with pytest.raises(ContextLengthError, match="even the current message needs about") as err:
        fit_messages(messages, fields, limit=150, policy="trim")
    smallest = request_tokens(messages[:1] + messages[-4:], fields)
    assert f"about {smallest} tokens" in str(err.value)

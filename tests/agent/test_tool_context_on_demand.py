"""A tool call's ToolContext is built only for a tool that reads it (issue 23).

``Tool.takes_context`` says whether a parameter receives the context; the agent builds
one only then, and ``Tool.run`` accepts None for a tool that takes none. A tool that
takes one still gets the same context as before, whichever way its call is decided
(nobody asked, allowed, edited) and however many calls share the step.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Optional

import pytest
from pydantic import Field

from alltoken_agent import Agent, Gateway, tool
from alltoken_agent.agent.approval import ApprovalDecision, ApprovalRequest
from alltoken_agent.agent.builtin_tools import resolve_tool_names
from alltoken_agent.agent.tools import Tool, ToolContext
from tests.gateway.helpers import closes_gateways, gateway_for

_open: list[Gateway] = []
close_gateways = closes_gateways(_open)


def agent_on(server: Any, **kwargs: Any) -> tuple[Agent, Gateway]:
    gateway = gateway_for(server)
    _open.append(gateway)
    return Agent(gateway=gateway, **kwargs), gateway


@tool
def plain(x: int) -> int:
    """Return it.

    Args:
        x: A number.
    """
    return x


seen: list[ToolContext] = []


@tool
def noted(x: int, context: ToolContext) -> int:
    """Keep the context.

    Args:
        x: A number.
        context: The call.
    """
    seen.append(context)
    return x


@pytest.fixture(autouse=True)
def clear_seen() -> None:
    seen.clear()


def _optional(x: int, context: Optional[ToolContext] = None) -> int:  # noqa: UP045 - the old spelling
    return x


def _union(x: int, context: ToolContext | None = None) -> int:
    return x


def _annotated(x: int, context: Annotated[ToolContext, Field(description="the call")]) -> int:
    return x


def _positional(context: ToolContext, /, x: int) -> int:
    return x


@pytest.mark.parametrize("function", [_optional, _union, _annotated, _positional])
def test_every_spelling_of_a_context_parameter_counts(function: Any) -> None:
    assert Tool(function).takes_context is True


def test_a_tool_without_one_takes_none() -> None:
    assert plain.takes_context is False
    assert noted.takes_context is True
    assert Tool(functools.partial(_union, 1), name="bound").takes_context is True
    assert Tool(functools.partial(plain.function, 1), name="fixed").takes_context is False
    defined = Tool.from_definition({"name": "d", "parameters": {}}, lambda args: "ok")
    assert defined.takes_context is False


def test_a_tool_made_again_from_a_tool_reads_the_function_again() -> None:
    assert Tool(noted, name="again").takes_context is True
    assert Tool(plain, name="again").takes_context is False


def test_built_in_tools_whose_binder_comes_later_say_what_tool_would_read() -> None:
    # Their binder is made on the first call; takes_context is known before it, and is
    # what Tool() reads from the same function.
    for item in resolve_tool_names("get_current_time,calculate"):
        assert item.takes_context is False
        assert item.takes_context is Tool(item.function, name=item.name).takes_context


async def test_a_tool_that_takes_none_runs_with_none() -> None:
    outcome = await plain.run('{"x": 3}', None)
    assert (outcome.content, outcome.is_error, outcome.arguments) == ("3", False, {"x": 3})
    refused = await plain.run('{"x": "three"}', None)
    assert refused.is_error and "invalid arguments for plain" in refused.content


async def test_a_context_taking_tool_called_by_the_agent_gets_its_call(sim: Any) -> None:
    agent, gateway = agent_on(sim, tools=[plain, noted])
    result = await agent.run('[[call noted {"x": 1}]] [[then]] [[call plain {"x": 2}]]')
    first, second = result.tool_calls
    assert [(first.name, first.result), (second.name, second.result)] == [
        ("noted", "1"),
        ("plain", "2"),
    ]
    assert seen == [
        ToolContext(gateway=gateway, model="minimax-m2.7", call_id=first.call_id, step=1)
    ]


async def test_two_calls_of_one_step_each_get_their_own_context(sim: Any) -> None:
    agent, gateway = agent_on(sim, tools=[plain, noted])
    result = await agent.run(
        '[[call noted {"x": 1}]] [[call plain {"x": 2}]] [[call noted {"x": 3}]]'
    )
    ids = [call.call_id for call in result.tool_calls if call.name == "noted"]
    assert sorted(c.call_id for c in seen) == sorted(ids) and len(set(ids)) == 2
    assert {(c.gateway, c.model, c.step) for c in seen} == {(gateway, "minimax-m2.7", 1)}


@pytest.mark.parametrize(
    ("decision", "result"),
    [
        (ApprovalDecision.allow(), "1"),
        (ApprovalDecision.edit({"x": 7}), "7"),
    ],
)
async def test_a_decided_call_gets_its_context_and_outcome_as_before(
    sim: Any, decision: ApprovalDecision, result: str
) -> None:
    asked: list[ApprovalRequest] = []

    def handler(request: ApprovalRequest) -> ApprovalDecision:
        asked.append(request)
        return decision

    agent, gateway = agent_on(
        sim, tools=[noted], require_approval=["noted"], approval_handler=handler
    )
    run = await agent.run('[[call noted {"x": 1}]]')
    (call,) = run.tool_calls
    assert [r.arguments for r in asked] == [{"x": 1}]
    assert call.result.endswith(result) and not call.is_error
    assert call.arguments == ({"x": 1} if decision.action == "allow" else {"x": 7})
    if decision.action == "edit":
        assert call.result != result  # the model is told the arguments changed
    assert seen == [
        ToolContext(gateway=gateway, model="minimax-m2.7", call_id=call.call_id, step=1)
    ]


async def test_a_denied_call_runs_nothing_and_builds_no_context(sim: Any) -> None:
    agent, _ = agent_on(
        sim, tools=[noted], require_approval=["noted"], approval_handler=lambda request: False
    )
    run = await agent.run('[[call noted {"x": 1}]]')
    (call,) = run.tool_calls
    assert call.is_error and call.arguments == {"x": 1}
    assert seen == []


async def test_a_made_up_tool_name_is_told_apart_as_before(sim: Any) -> None:
    agent, _ = agent_on(sim, tools=[plain])
    run = await agent.run('[[call nowhere {"x": 1}]]')
    (call,) = run.tool_calls
    assert call.is_error and call.arguments == {"x": 1}
    assert call.result == "Error: unknown tool 'nowhere'; available tools: plain"

"""One message to a stored session: build its agent, run the turn, save it, report the end.

The events are the agent's own (``event.to_dict()``, the CLI's ``--json`` lines), plus
``RetryEvent`` and a final ``DoneEvent`` (plus ``session_id``, ``request_cost`` and
``budget``) or ``error`` (the error's ``to_dict()``, as the CLI's, same additions).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from alltoken_agent import Agent, AllTokenAgentError, RetryNotice, RunResult
from alltoken_agent.agent import (
    DEFAULT_INSTRUCTIONS,
    DEFAULT_MODEL,
    DEFAULT_TOOL_NAMES,
    DoneEvent,
    ReasoningDeltaEvent,
    RetryEvent,
    StreamDeltaEvent,
    resolve_tool_names,
)
from alltoken_agent.gateway import request_tags
from alltoken_agent.ledger import BudgetStatus
from alltoken_agent.server.context import ServerContext
from alltoken_agent.server.errors import RunCancelledError
from alltoken_agent.server.runs import Run, RunEnd
from alltoken_agent.server.sse import delta_frame
from alltoken_agent.server.storage import RUN_TAG
from alltoken_agent.store import SessionRecord

logger = logging.getLogger("alltoken_agent.server")

_DELTAS = (StreamDeltaEvent, ReasoningDeltaEvent)
"""Events whose JSON view is their name and ``delta`` alone (``accumulated`` is left out)."""

_current_run: ContextVar[Run | None] = ContextVar("alltoken_agent_server_run", default=None)


def session_tools(session: SessionRecord) -> list[str]:
    """The tool names a session was created with."""
    tools = session.metadata.get("tools")
    return [str(name) for name in tools] if isinstance(tools, list) else list(DEFAULT_TOOL_NAMES)


def build_agent(
    context: ServerContext, session: SessionRecord, history: list[dict[str, Any]]
) -> Agent[str]:
    """The agent a session's settings describe, continuing its stored history.

    The agent takes ``history`` over (the store's read of it, which nobody else holds):
    copying a long session's messages was a large share of a turn's CPU.
    """
    agent: Agent[str] = Agent(
        session.model or context.gateway.model or DEFAULT_MODEL,
        instructions=DEFAULT_INSTRUCTIONS if session.instructions is None else session.instructions,
        tools=resolve_tool_names(",".join(session_tools(session))),
        gateway=context.gateway,
        config=context.config,
        thinking=bool(session.metadata.get("thinking", False)),
    )
    agent.take_history(history)
    return agent


def retry_reporter(
    previous: Callable[[RetryNotice], None] | None,
) -> Callable[[RetryNotice], None]:
    """A gateway ``on_retry`` that also tells the run making the request (a ``retry`` event)."""

    def on_retry(notice: RetryNotice) -> None:
        run = _current_run.get()
        if run is not None:
            run.emit("retry", RetryEvent.from_notice(notice).to_dict())
        if previous is not None:
            previous(notice)

    return on_retry


async def open_and_run_turn(
    context: ServerContext,
    run: Run,
    content: str | list[dict[str, Any]],
    opened: asyncio.Future[BudgetStatus | None],
) -> None:
    """A run's task: check the budget and open the turn, then run it.

    ``opened`` gets the budget's status once the turn is open (its session leased and
    read), or what refused it (402, 404, 409, a store failure, the server's shutdown):
    the run then ends, and the request that made it answers with that. When that request
    is gone by then (``opened`` cancelled), the run ends too and its lease goes back.
    """
    try:
        budget = await context.check_budget(run.caller)
        session, history = await context.runs.open_turn(run)
    except asyncio.CancelledError:  # the server is shutting down: no turn starts now
        if not opened.done():
            opened.set_exception(run.cancelled_error())
        raise
    except Exception as exc:
        if not opened.done():
            opened.set_exception(exc)
        return
    if opened.done():  # the request went away while the turn opened: its lease goes back
        return
    opened.set_result(budget)
    await run_turn(context, run, session, history, content)


async def run_turn(
    context: ServerContext,
    run: Run,
    session: SessionRecord,
    history: list[dict[str, Any]],
    content: str | list[dict[str, Any]],
) -> None:
    """Run one turn of ``session`` for ``run``: stream its events, save it, finish the run.

    ``history`` is the session's stored messages, read with its lease.
    """
    _current_run.set(run)  # this task's own context: seen by on_retry, gone with the task
    agent: Agent[str] | None = None
    start = 0
    result: RunResult[str] | None = None
    error: BaseException | None = None
    with request_tags(owner=run.caller.owner, session=session.id, **{RUN_TAG: run.id}):
        try:
            agent = build_agent(context, session, history)
            del history  # the agent holds its messages: the list need not last the stream
            start = agent.message_count  # no copy of the whole history
            stream = agent.stream(content)
            async for event in stream:
                # The failure is reported once, at the end; a JSON reply needs no events,
                # so it does not pay for their JSON views either.
                if not run.streaming or event.name == "error":
                    continue
                if isinstance(event, _DELTAS):  # one per chunk: its bytes straight from its text
                    run.emit_frame(delta_frame(event.name, event.delta))
                else:
                    run.emit(event.name, event.to_dict())
            result = stream.result
        except asyncio.CancelledError:
            error = run.cancelled_error()
        except Exception as exc:
            error = exc
        # From here on the turn is only being written down: a cancel now would lose it.
        run.concluding = True
        # Whatever the agent committed (whole steps only) is kept, even on failure.
        new = [] if agent is None else agent.get_messages(start)
        try:
            # Saved and the lease given up in one store call: another replica may run the
            # next turn before this end is reported, so a client that sends its next
            # message at once does not find the session busy.
            await context.runs.close_turn(run, new)
        except Exception as exc:
            logger.error("could not save session %s: %s", session.id, context.redact(str(exc)))
            error = error or exc
    cost = context.tally.pop(run.id)
    try:
        await context.calls.flush(run.id)
        budget = await context.budget_status(run.caller)
    except Exception as exc:  # a ledger that cannot be read must not lose the answer
        logger.error("could not read the budget: %s", context.redact(str(exc)))
        budget = None
    if error is None and result is not None:
        payload = done_payload(session.id, result, cost, budget)
        run.finish(RunEnd("done", payload, None, cost, budget))
    else:
        failure = error or RuntimeError("the run ended without a result")
        payload = error_payload(failure, context.redact, session.id, cost, budget)
        run.finish(RunEnd("error", payload, failure, cost, budget))


def money(amount: Decimal | None) -> str | None:
    """USD as an exact decimal string (None stays None)."""
    return None if amount is None else format(amount, "f")


def budget_dict(status: BudgetStatus | None) -> dict[str, str] | None:
    """The budget fields of a reply."""
    if status is None:
        return None
    return {
        "limit": format(status.limit, "f"),
        "spent": format(status.spent, "f"),
        "remaining": format(status.remaining, "f"),
    }


def done_payload(
    session_id: str, result: RunResult[str], cost: Decimal | None, budget: BudgetStatus | None
) -> dict[str, Any]:
    """The final ``done`` event: the agent's ``DoneEvent`` plus session, cost and budget."""
    return {
        "event": "done",
        "session_id": session_id,
        **DoneEvent.from_result(result).to_dict(),
        "request_cost": money(cost),
        "budget": budget_dict(budget),
    }


def error_payload(
    error: BaseException,
    redact: Callable[[str], str],
    session_id: str,
    cost: Decimal | None,
    budget: BudgetStatus | None,
) -> dict[str, Any]:
    """The final ``error`` event: the error's ``to_dict()`` plus session, cost and budget.

    A failure of the server's own (not one of ours) says only that the server failed:
    its text goes to the log, not to the client.
    """
    fields: dict[str, Any]
    if isinstance(error, AllTokenAgentError):
        fields = error.to_dict()
        fields["message"] = redact(str(fields["message"]))
    elif isinstance(error, RunCancelledError):
        fields = {"code": error.code, "message": redact(str(error)), "type": "RunCancelledError"}
    else:
        logger.error("run failed: %s", redact(repr(error)))
        name = type(error).__name__
        fields = {"code": name, "message": "the server failed; see its log", "type": name}
    return {
        "event": "error",
        **fields,
        "session_id": session_id,
        "request_cost": money(cost),
        "budget": budget_dict(budget),
    }

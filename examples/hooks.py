"""Hooks: watch an agent work, event by event, with ``agent.on(name, handler)``.

Handlers get the event's payload as positional arguments and may be plain
functions or coroutines. A handler that raises never breaks the run: the agent
reports it as an ``error`` event instead.

Run it with ``ALLTOKEN_API_KEY`` set to talk to AllToken, or without a key to run
on the built-in offline simulator::

    python examples/hooks.py
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from alltoken_agent import Agent, Cost, Gateway, Usage, calculate, get_current_time


def open_gateway() -> Gateway:
    """AllToken when ALLTOKEN_API_KEY is set, else the built-in offline simulator."""
    if os.environ.get("ALLTOKEN_API_KEY"):
        return Gateway()
    print("no ALLTOKEN_API_KEY: running on the offline simulator", file=sys.stderr)
    return Gateway.offline()


# Sync handlers: called inline, in registration order.
def on_user(message: dict[str, Any]) -> None:
    # message:user and message:assistant get the message: {"role": ..., "content": ...}.
    print(f"[message:user] {message['content']}")


def on_delta(delta: str, accumulated: str) -> None:
    # Print each fragment as it arrives; `accumulated` holds this step's text so far.
    print(delta, end="", flush=True)


def on_stream_end(text: str, finish_reason: str | None) -> None:
    if text:
        print()  # end the line the deltas were printed on


def on_tool_call(tool_name: str, arguments: Any, call_id: str) -> None:
    print(f"[tool:call] {tool_name}({arguments}) id={call_id}")


def on_usage(usage: Usage, model: str) -> None:
    print(
        f"[usage] {model}: {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion tokens"
    )


def on_cost(cost: Cost, model: str) -> None:
    # AllToken reports each request's cost; other gateways send no cost event.
    print(f"[cost] {model}: ${cost.amount}")


def on_error(error: BaseException, source: str) -> None:
    # source is "run" (the run failed) or "hook" (a handler raised; the run goes on).
    print(f"[error] from {source}: {type(error).__name__}: {error}", file=sys.stderr)


# Async handlers are awaited before the agent moves on, so keep them quick.
async def on_tool_result(tool_name: str, result: str, call_id: str, is_error: bool) -> None:
    status = "failed" if is_error else "ok"
    print(f"[tool:result] {tool_name} {status}: {result}")


def on_assistant(message: dict[str, Any]) -> None:
    print(f"[message:assistant] {message['role']}: {message['content']}")


async def main() -> None:
    async with open_gateway() as gateway:
        agent = Agent(gateway=gateway, tools=[get_current_time, calculate])
        agent.on("message:user", on_user)
        agent.on("message:assistant", on_assistant)
        agent.on("stream:delta", on_delta)
        agent.on("stream:end", on_stream_end)
        agent.on("tool:call", on_tool_call)
        agent.on("tool:result", on_tool_result)
        agent.on("usage", on_usage)
        agent.on("cost", on_cost)
        agent.on("error", on_error)

        answer = await agent.send("What is 12*(3+4)?")
        print(f"final answer: {answer}")

        # Handlers can be removed again: one of them, or every handler of an event.
        agent.off("stream:delta", on_delta)
        agent.off("usage")


if __name__ == "__main__":
    asyncio.run(main())

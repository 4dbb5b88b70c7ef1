"""Streaming events: iterate over everything an agent run does, as it happens.

``agent.stream(...)`` returns an ``AgentRun``: ``async for`` yields one event object
per step (the same objects ``agent.on`` handlers are called with), and once the
loop ends, ``run.result`` holds the outcome: text, tool calls, usage and cost.
Every event has a ``name`` (``"stream:delta"``, ``"tool:call"``, ...) and
``to_dict()``, its JSON view.

Run it with ``ALLTOKEN_API_KEY`` set to talk to AllToken, or without a key to run
on the built-in offline simulator::

    python examples/streaming_events.py
"""

from __future__ import annotations

import asyncio
import os
import sys

from alltoken_agent import Agent, AgentEvent, Gateway, calculate, get_current_time


def open_gateway() -> Gateway:
    """AllToken when ALLTOKEN_API_KEY is set, else the built-in offline simulator."""
    if os.environ.get("ALLTOKEN_API_KEY"):
        return Gateway()
    print("no ALLTOKEN_API_KEY: running on the offline simulator", file=sys.stderr)
    return Gateway.offline()


def describe(event: AgentEvent) -> str:
    """One compact line per event; `match` on the name narrows the event's type."""
    match event.name:
        case "stream:start":
            return f"step {event.step}: asking {event.model}"
        case "stream:delta" | "reasoning:delta":
            return repr(event.delta)
        case "stream:end":
            return f"finish_reason={event.finish_reason}"
        case "tool:call":
            return f"{event.tool_name}({event.arguments})"
        case "tool:result":
            return f"{event.tool_name} -> {event.result}" + (" (error)" if event.is_error else "")
        case "usage":
            return f"{event.usage.total_tokens} tokens"
        case "cost":
            return f"${event.cost.amount}"
        case "message:user" | "message:assistant":
            return str(event.content)
        case _:
            return str(event.to_dict())


async def main() -> None:
    async with open_gateway() as gateway:
        agent = Agent(gateway=gateway, tools=[get_current_time, calculate])
        run = agent.stream("What time is it in Tokyo?")
        async for event in run:
            print(f"{event.name:<18} {describe(event)}")

        # Available once every event has been read.
        result = run.result
        print()
        print(f"answer:     {result.text}")
        print(f"tool calls: {[call.name for call in result.tool_calls]}")
        print(f"steps:      {result.steps}, stop reason: {result.stop_reason}")
        print(f"usage:      {result.usage.total_tokens} tokens")
        print(f"cost:       {'unknown' if result.cost is None else f'${result.cost.amount}'}")


if __name__ == "__main__":
    asyncio.run(main())

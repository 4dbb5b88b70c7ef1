"""Headless agent: ask two questions that need tools, print the answers.

The agent gets the two default tools (``get_current_time`` and ``calculate``) and
runs the tool loop by itself: the model asks for a tool, the agent runs it, sends
the result back and returns the final answer.

Run it with ``ALLTOKEN_API_KEY`` set to talk to AllToken, or without a key to run
on the built-in offline simulator (deterministic, no network)::

    python examples/headless.py
"""

from __future__ import annotations

import asyncio
import os
import sys

from alltoken_agent import Agent, Gateway, calculate, get_current_time


def open_gateway() -> Gateway:
    """AllToken when ALLTOKEN_API_KEY is set, else the built-in offline simulator."""
    if os.environ.get("ALLTOKEN_API_KEY"):
        return Gateway()
    print("no ALLTOKEN_API_KEY: running on the offline simulator", file=sys.stderr)
    return Gateway.offline()


async def main() -> None:
    # `async with` closes the connection pool (and stops the simulator, if any).
    async with open_gateway() as gateway:
        agent = Agent(gateway=gateway, tools=[get_current_time, calculate])
        # One agent keeps one conversation: the second question sees the first.
        for question in ("What time is it in Tokyo?", "What is 12*(3+4)?"):
            answer = await agent.send(question)
            print(f"Q: {question}\nA: {answer}\n")


def main_sync() -> None:
    """The same without an event loop: ``run_sync`` runs the agent on a private loop."""
    gateway = open_gateway()
    agent = Agent(gateway=gateway, tools=[get_current_time, calculate])
    try:
        print("sync:", agent.run_sync("What is 12*(3+4)?").output)
    finally:
        # close_sync() only closes a gateway the agent created itself, and it ends the
        # private loop that this gateway's connections live on; so close the gateway
        # first, then the agent.
        asyncio.run(gateway.aclose())
        agent.close_sync()


if __name__ == "__main__":
    asyncio.run(main())
    main_sync()

"""The blocking calls of :class:`~alltoken_agent.agent.agent.Agent`, for code without an event loop.

``run_sync``, ``send_sync`` and ``close_sync`` (:class:`BlockingCalls`, a base of the
agent) run the async calls to completion on the agent's private event loop
(:class:`BlockingLoop`), one loop per agent so pooled connections stay usable.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from alltoken_agent.errors import UserError

if TYPE_CHECKING:
    from alltoken_agent.agent.agent import Agent
    from alltoken_agent.agent.result import RunResult

if TYPE_CHECKING:
    import typing_extensions

    OutputT = typing_extensions.TypeVar("OutputT", default=str)
elif sys.version_info >= (3, 13):
    OutputT = TypeVar("OutputT", default=str)
else:  # the default is for type checkers; typing_extensions costs ~3 ms of a chat's start
    OutputT = TypeVar("OutputT")
"""A result's output type: ``str`` unless the run has a structured ``output``."""
T = TypeVar("T")


class BlockingLoop:
    """One event loop for every blocking call of an agent, so pooled connections stay usable."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, name: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``make()`` to completion on the private loop (opened on first use).

        ``make`` is called only once the check passed, so a refused call leaves no
        coroutine behind that was never awaited.

        Raises:
            UserError: Called from inside a running event loop.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise UserError(f"{name}() cannot run inside an event loop; use await agent.send()")
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(make())

    def close(self, *closers: Callable[[], Awaitable[Any]]) -> bool:
        """Await each closer on the loop, then close it; False when no loop was open."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        for closer in closers:
            loop.run_until_complete(closer())
        loop.close()
        return True


class BlockingCalls(Generic[OutputT]):
    """``run_sync``, ``send_sync`` and ``close_sync``: the agent's calls that block.

    A base of ``Agent`` alone: each call runs the agent's own ``run``/``send`` to
    completion, so their signatures are written once, in ``Agent``.
    """

    def _agent(self) -> Agent[Any]:
        return cast("Agent[Any]", self)

    @overload
    def run_sync(self, content: Any, *, output_type: None = ...) -> RunResult[OutputT]: ...

    @overload
    def run_sync(self, content: Any, *, output_type: type[T]) -> RunResult[T]: ...

    def run_sync(self, content: Any, *, output_type: type[Any] | None = None) -> RunResult[Any]:
        """``run()`` for code without an event loop (streamed requests, every event).

        Returns the whole ``RunResult``, as ``run()`` does: ``.output`` is the answer.

        Raises:
            UserError: Called from inside a running event loop.
        """
        agent = self._agent()
        return agent._blocking.run("run_sync", lambda: agent.run(content, output_type=output_type))

    @overload
    def send_sync(self, content: Any, *, output_type: None = ...) -> OutputT: ...

    @overload
    def send_sync(self, content: Any, *, output_type: type[T]) -> T: ...

    def send_sync(self, content: Any, *, output_type: type[Any] | None = None) -> Any:
        """``send(stream=False)`` for code without an event loop, and without stream events.

        The tool loop runs as usual, but no request streams, and no ``stream:*`` or
        ``reasoning:*`` event is emitted; the others are (``message:*``,
        ``thinking:start``/``thinking:end``, ``tool:*``, ``usage``, ``cost``...).

        Raises:
            UserError: Called from inside a running event loop.
        """
        return self._agent()._blocking.run(
            "send_sync", lambda: self._send_unstreamed(content, output_type)
        )

    async def _send_unstreamed(self, content: Any, output_type: type[Any] | None) -> Any:
        run = self._agent()._start(
            content, stream=False, output_type=output_type, deltas=False, stream_events=False
        )
        async for _ in run:
            pass
        return run.result.output

    def close_sync(self) -> None:
        """Close what ``run_sync``/``send_sync`` opened, the gateway included.

        A gateway passed in is closed too once a blocking call has used it: its
        pooled connections belong to the agent's private event loop, which
        closes here, so no other loop could use them.
        """
        agent = self._agent()
        mcp, gateway = agent._mcp, agent._gateway
        closers = [c.aclose for c in (mcp, gateway) if c is not None]
        if agent._blocking.close(*closers) and gateway is not None and agent._owns_gateway:
            agent._gateway = None

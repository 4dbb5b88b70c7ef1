"""A run's event queue: keep-alive timeouts without a timer per wait.

Driven on a real event loop; the loop subclass only counts the timers it is asked for.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alltoken_agent.server._event_queue import EventQueue


class CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts the timers set on it (``call_later`` goes through here)."""

    timers = 0

    def call_at(self, when: float, callback: Any, *args: Any, context: Any = None) -> Any:
        self.timers += 1
        return super().call_at(when, callback, *args, context=context)


def _run(main: Any) -> tuple[Any, int]:
    loop = CountingLoop()
    try:
        result = loop.run_until_complete(main())
        return result, loop.timers
    finally:
        loop.close()


def test_a_stream_of_single_events_sets_no_timer_per_wait() -> None:
    async def stream() -> list[bool]:
        queue = EventQueue()
        loop = asyncio.get_running_loop()
        woke = []
        for index in range(200):  # a model streaming its chunks one at a time
            loop.call_soon(queue.put, ("stream:delta", {"i": index}))
            woke.append(await queue.wait(30.0))
            queue.take()
        return woke

    woke, timers = _run(stream)
    assert woke == [True] * 200
    assert timers <= 2  # was one per wait: 200


def test_a_quiet_wait_times_out_after_its_own_full_timeout() -> None:
    async def quiet() -> tuple[bool, bool, float, float]:
        queue = EventQueue()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, queue.put, ("stream:start", {}))
        first = await queue.wait(0.2)  # arms the timer for 0.2 s from now
        queue.take()
        started = loop.time()
        second = await queue.wait(0.2)  # nothing comes: a keep-alive is due
        return first, second, started, loop.time()

    (first, second, started, ended), _ = _run(quiet)
    assert first is True
    assert second is False
    # The timer the first wait armed fired too early for this one, which waited it out.
    assert ended >= started + 0.2


def test_the_closing_item_wakes_a_waiting_reader() -> None:
    async def close() -> list[Any]:
        queue = EventQueue()
        asyncio.get_running_loop().call_soon(queue.put, None)
        assert await queue.wait(10.0) is True
        return queue.take()

    items, _ = _run(close)
    assert items == [None]

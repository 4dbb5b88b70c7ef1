"""The terminal UI on a long session: resuming it, then chatting on, against a short one.

A session of ``N`` stored turns (a question, a tool call with its result, an answer:
four messages each) is resumed with ``make_app(..., session=...)`` under Textual's
``run_test`` (the Pilot, a real app without a terminal), on the built-in offline
simulator. Two figures per session, wall-clock seconds:

- resume: from the app's start until the conversation is shown (the note saying how
  many messages the session holds);
- 5 messages: five messages sent one after another, each until its reply is shown.

The floor is the same for a session of one turn, in the same run; each line gives the
ratio against it. Then a long live chat (``--chat N``, 400 by default, 0 to skip): N
messages sent on a new session, milliseconds per message in each quarter, and the last
quarter's ratio to the first: a log that only grows makes every message slower.

Before 2026-12-07 a resume mounted every stored message one by one, each mount
restyling the whole log (a ``*:last-child`` rule marked every widget as styled by its
position): 50 turns took 4.5 s, 200 took 69 s, 500 took 507 s, and five messages after
a 500-turn resume took 3.7 s against 1.2 s. The exit code is 0: this is a measurement,
not a test.

Run ``python bench/tui_resume.py`` (``--turns 10,500,10000``). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alltoken_agent import Gateway
from alltoken_agent.store import Store
from alltoken_agent.tui import ChatApp, make_app
from alltoken_agent.tui.widgets import NoteMessage

SENDS = 5
TIMEOUT = 600.0


def seed(store: Store, turns: int) -> None:
    """A session named "long" of ``turns`` stored turns."""
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        call = {
            "id": f"call-{i}",
            "type": "function",
            "function": {"name": "calculator", "arguments": f'{{"expression": "{i}+{i}"}}'},
        }
        messages += [
            {"role": "user", "content": f"Question {i}: what is {i} plus {i}?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call-{i}", "content": str(2 * i)},
            {"role": "assistant", "content": f"The answer to question {i} is **{2 * i}**."},
        ]
    record = store.sessions.create_session(name="long", model="minimax-m2.7")
    store.sessions.append_messages(record.id, messages)


async def until(app: ChatApp, pilot: Any, condition: Any) -> None:
    deadline = time.perf_counter() + TIMEOUT
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.01)


async def send(app: ChatApp, pilot: Any, text: str) -> None:
    """Send ``text`` and wait until its reply is in the conversation and done."""
    before = app.agent.message_count
    app.prompt.insert(text)
    await pilot.press("enter")
    await until(app, pilot, lambda: app.agent.message_count > before and not app.replying)


async def measure(turns: int) -> tuple[float, float, int]:
    """Resume seconds, seconds for SENDS messages, widgets in the log after the resume."""
    with tempfile.TemporaryDirectory(prefix="alltoken-bench-") as folder:
        with Store(f"sqlite:///{folder}/store.db") as store:
            seed(store, turns)
            app = make_app(
                Gateway.offline(),
                store=store,
                session="long",
                workdir=Path(folder),
                close_gateway=True,
            )
            start = time.perf_counter()
            async with app.run_test(size=(100, 30)) as pilot:
                await until(
                    app,
                    pilot,
                    lambda: any(
                        "stored messages" in note.text for note in app.chat.query(NoteMessage)
                    ),
                )
                resumed = time.perf_counter() - start
                widgets = len(app.chat.query("*"))
                start = time.perf_counter()
                for index in range(SENDS):
                    await send(app, pilot, f"message {index}")
                sent = time.perf_counter() - start
    return resumed, sent, widgets


async def chat(messages: int) -> list[float]:
    """Milliseconds per message in each quarter of ``messages`` sent on a new session."""
    with tempfile.TemporaryDirectory(prefix="alltoken-bench-") as folder:
        with Store(f"sqlite:///{folder}/store.db") as store:
            app = make_app(Gateway.offline(), store=store, workdir=Path(folder), close_gateway=True)
            quarters: list[float] = []
            async with app.run_test(size=(100, 30)) as pilot:
                start = time.perf_counter()
                for index in range(messages):
                    await send(app, pilot, f"message {index}: tell me something")
                    if (index + 1) % (messages // 4) == 0 and len(quarters) < 4:
                        now = time.perf_counter()
                        quarters.append((now - start) * 1000 / (messages // 4))
                        start = now
    return quarters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--turns", default="10,500,10000", help="stored turns, comma-separated (floor: 1)"
    )
    parser.add_argument(
        "--chat", type=int, default=400, help="messages of the live chat (0: none; from 4)"
    )
    args = parser.parse_args()
    sizes = [int(part) for part in args.turns.split(",") if part.strip()]
    floor = asyncio.run(measure(1))
    print(f"terminal UI on a stored session; python {sys.version.split()[0]}")
    print(f"{'turns':>7} {'resume s':>9} {'ratio':>7} {f'{SENDS} msgs s':>9} {'ratio':>7} widgets")
    print(f"{1:>7} {floor[0]:9.2f} {1:7.2f} {floor[1]:9.2f} {1:7.2f} {floor[2]:>7}")
    for turns in sizes:
        resumed, sent, widgets = asyncio.run(measure(turns))
        print(
            f"{turns:>7} {resumed:9.2f} {resumed / floor[0]:7.2f} "
            f"{sent:9.2f} {sent / floor[1]:7.2f} {widgets:>7}"
        )
    if args.chat >= 4:
        quarters = asyncio.run(chat(args.chat))
        shown = "  ".join(f"{ms:.0f}" for ms in quarters)
        print(f"live chat of {args.chat} messages, ms per message by quarter: {shown}")
        print(f"last quarter / first: {quarters[-1] / quarters[0]:.2f}")


if __name__ == "__main__":
    main()

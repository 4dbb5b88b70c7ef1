"""``alltoken-agent chat`` with plain arguments, run without importing Typer.

Typer (and its Click, inspect, its converters) cost ``chat`` about 50 ms of CPU
before its request. Most chat command lines are a prompt and a few text options or
flags: :func:`parse` reads exactly those, as Click would, and hands them to
:func:`~alltoken_agent.cli._chat_run.run_chat`. Anything else (``--help``, a number,
a path, a short option with its value attached, an option written ``--flag=x``, a
value that looks like an option, a second argument, no prompt, an unknown option,
text that is not UTF-8, shell completion) answers None, and Typer parses the line
as it always did, with its own messages.

:data:`TEXT_OPTIONS`, :data:`LIST_OPTIONS` and :data:`FLAGS` repeat the names of
``cli/chat.py``'s options; ``tests/cli/test_chat_quick.py`` pins them, and the
defaults of ``run_chat``, to Typer's own command, and pins that both parse every
line this module accepts to the same values.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

TEXT_OPTIONS = {
    "--model": "model",
    "-m": "model",
    "--system": "system",
    "-s": "system",
    "--provider": "provider",
    "-p": "provider",
    "--base-url": "base_url",
    "--tools": "tools",
    "--session": "session",
}
"""Options taking one string: flag -> parameter."""
LIST_OPTIONS = {"--mcp": "mcp"}
"""Options taking a string each time they are given: flag -> parameter."""
FLAGS = {
    "--search": "search",
    "--thinking": "thinking",
    "--continue": "continue_",
    "-c": "continue_",
    "--yes": "yes",
    "-y": "yes",
    "--offline": "offline",
    "--json": "json_output",
    "--verbose": "verbose",
    "-v": "verbose",
}
"""Boolean flags: flag -> parameter."""

COMPLETE_ENV = "_ALLTOKEN_AGENT_COMPLETE"
"""Set by a shell asking for completions: Typer answers those."""

_gc_paused = False
"""Whether :func:`run_quickly` turned the cyclic garbage collector off for start-up."""


def pause_gc() -> None:
    """Turn the cyclic garbage collector off until :func:`resume_gc`.

    Importing what a chat run needs allocates hundreds of thousands of objects, which
    set the collector off about 90 times before the request (some 15-20 ms of CPU,
    bench/cli_startup.py), and the modules, classes and functions made then live as
    long as the process: there is nothing for it to collect.
    """
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def resume_gc() -> None:
    """Turn the collector back on after :func:`pause_gc` (else nothing).

    What start-up made is frozen first, so later collections never scan it again.
    ``chat`` calls this once its reply has started (its first ``stream:start``).
    """
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()


def parse(args: Sequence[str]) -> dict[str, Any] | None:
    """``chat``'s parameters from ``args`` (after ``chat``), or None when Typer must parse."""
    values: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positional.extend(rest)
            break
        if not arg.startswith("-") or arg == "-":
            if arg == "-":
                return None
            positional.append(arg)
        elif arg in FLAGS:
            values[FLAGS[arg]] = True
        elif arg in TEXT_OPTIONS or arg in LIST_OPTIONS:
            if not rest or rest[0].startswith("-"):
                return None  # Typer says a value is missing (or takes "-x" as one)
            value = rest.pop(0)
            if arg in TEXT_OPTIONS:
                values[TEXT_OPTIONS[arg]] = value
            else:
                values.setdefault(LIST_OPTIONS[arg], []).append(value)
        elif arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            if name in TEXT_OPTIONS:
                values[TEXT_OPTIONS[name]] = value
            elif name in LIST_OPTIONS:
                values.setdefault(LIST_OPTIONS[name], []).append(value)
            else:
                return None
        else:
            return None  # --help, a number, a path, -mVALUE, -cy, an unknown option
    if len(positional) != 1:
        return None  # no prompt (stdin), or an extra argument Typer refuses
    values["prompt"] = positional[0]
    return values


def _plain_text(args: Sequence[str]) -> bool:
    """Whether every argument and environment variable is UTF-8 (Typer's path says why not)."""
    try:
        for text in (*args, *os.environ.keys(), *os.environ.values()):
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def run_quickly(args: Sequence[str]) -> bool:
    """Run ``chat ARGS`` without Typer when :func:`parse` reads them; False: Typer must.

    Exits by ``SystemExit`` when the run fails, with the exit code Typer would give.
    """
    if os.environ.get(COMPLETE_ENV) or not _plain_text(args):
        return False
    values = parse(args)
    if values is None:
        return False
    pause_gc()  # until the reply starts (run_chat resumes it)
    from alltoken_agent.cli._chat_run import run_chat

    try:
        run_chat(**values, checked=True)
    except BrokenPipeError:
        # As Click does under Typer: the reader left (`| head`), so exit 1 quietly; the
        # flush at exit goes to the null device instead of raising again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise SystemExit(1) from None
    except (EOFError, KeyboardInterrupt):
        # Outside the command's own handling (while it starts): Click's "Aborted!".
        print("\nAborted!", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        resume_gc()  # a run that failed before its request: the exit's own work may need it
        # The run is over: its row is committed, its files written and closed. Spare the
        # interpreter's last garbage collection over every object the imports made
        # (about 50 ms at exit, more than the reply takes; bench/cli_startup.py). An
        # object still in a reference cycle then goes with the process instead of being
        # collected; atexit handlers (logging, temporary folders) and the flush of
        # stdout and stderr still run.
        gc.freeze()
    return True

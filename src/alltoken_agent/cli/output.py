"""NDJSON events and turning errors into one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from alltoken_agent import AllTokenAgentError
from alltoken_agent.cli.exit_codes import ERROR_PREFIX, INTERRUPTED, describe, exit_code_for

DEBUG_ENV = "ALLTOKEN_AGENT_DEBUG"


class EventWriter:
    """Writes one JSON object per line to stdout when ``--json`` is on; otherwise nothing."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    def emit(self, event: str, **payload: Any) -> None:
        """Print ``{"event": event, **payload}`` as one line."""
        if self.enabled:
            self.emit_event({"event": event, **payload})

    def emit_event(self, data: dict[str, Any]) -> None:
        """Print an event already in its JSON form (``AgentEvent.to_dict()``)."""
        if self.enabled:
            try:
                sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                # The reader left (`| head`): stop writing, but let the command finish, so
                # a paid result is still saved and recorded. Later writes and the flush at
                # exit go to the null device instead of raising again.
                self.enabled = False
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)


def error_payload(error: BaseException) -> dict[str, Any]:
    """The fields of an ``error`` event: our errors' ``to_dict()``, else code, message, type."""
    if isinstance(error, AllTokenAgentError):
        return error.to_dict()
    from alltoken_agent.cli.signals import InterruptedBySignal  # asyncio: not for --help

    if isinstance(error, InterruptedBySignal):
        return {
            "code": "interrupted",
            "message": str(error),
            "signal": error.signal_name,
            "type": type(error).__name__,
        }
    if isinstance(error, KeyboardInterrupt):
        # Ctrl-C that arrived outside run_interruptible's handlers: it was SIGINT.
        return {
            "code": "interrupted",
            "message": "interrupted by SIGINT",
            "signal": "SIGINT",
            "type": type(error).__name__,
        }
    return {"code": type(error).__name__, "message": str(error), "type": type(error).__name__}


def run_command(
    main: Callable[[], Coroutine[Any, Any, None]],
    writer: EventWriter,
    *,
    failure: dict[str, Any] | None = None,
    checked: bool = False,
) -> None:
    """Run an async command; map any failure to one stderr line and its exit code.

    Ctrl-C and SIGTERM cancel ``main`` (see :mod:`alltoken_agent.cli.signals`), so its
    cleanup runs; the command then exits 130 or 143. A failure exits by ``SystemExit``
    with its code, which Typer (and Click's test runner) pass on as the exit status.

    Args:
        main: The command's body.
        writer: Where the ``error`` event goes with ``--json``.
        failure: Filled with the ``error`` payload reported, for a command that also
            writes the failure elsewhere (``chat --usage-file``).
        checked: The arguments and environment were already checked to be UTF-8
            (``chat`` run without Typer); else the running Typer command's are.
    """
    from alltoken_agent.cli.signals import InterruptedBySignal, run_interruptible

    report = {} if failure is None else failure
    try:
        if not checked:
            from alltoken_agent.cli._input import check_params  # here: --help stays light

            check_params()  # a flag with bytes that are not UTF-8: exit 2 before any work
        run_interruptible(main)
    except KeyboardInterrupt as error:
        report.update(error_payload(error))
        writer.emit("error", **report)
        print(f"{ERROR_PREFIX}{report['message']}", file=sys.stderr)
        code = error.exit_code if isinstance(error, InterruptedBySignal) else INTERRUPTED
        raise SystemExit(code) from None
    except AllTokenAgentError as error:
        report.update(error_payload(error))
        writer.emit("error", **report)
        print(describe(error), file=sys.stderr)
        raise SystemExit(exit_code_for(error)) from None
    except BrokenPipeError:
        raise  # the reader left (`| head`): Typer exits 1 quietly, as Click does
    except Exception as error:
        report.update(error_payload(error))
        writer.emit("error", **report)
        print(describe(error), file=sys.stderr)
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        else:
            print(f"(set {DEBUG_ENV}=1 to see the traceback)", file=sys.stderr)
        raise SystemExit(exit_code_for(error)) from None

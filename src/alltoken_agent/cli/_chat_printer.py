"""How ``alltoken-agent chat`` shows a run: its events as they come, then ``done``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alltoken_agent import AgentEvent, RunResult
    from alltoken_agent.cli.output import EventWriter


class ChatPrinter:
    """Shows agent events: NDJSON with --json; else the answer on stdout, the rest on stderr."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer
        self.at_line_start = True
        self.in_reasoning = False
        self.verbose = sys.stderr.isatty()

    def show(self, event: AgentEvent) -> None:
        if event.name == "error":
            return  # the command reports the failure once, with its exit code
        if self.writer.enabled:
            self.writer.emit_event(event.to_dict())
            if event.name == "notice" and event.code is not None:
                # Unknown usage or cost: a person reads stderr even when a program reads stdout.
                print(f"alltoken-agent: {event.message}", file=sys.stderr)
            return
        if event.name == "stream:delta":
            self._end_reasoning()
            self._out(event.delta)
        elif event.name == "reasoning:delta":
            sys.stderr.write(event.delta)
            sys.stderr.flush()
            self.in_reasoning = True
        elif event.name == "reasoning:end":
            self._end_reasoning()  # the block's line ends even if no answer text follows
        elif event.name == "stream:end":
            self._end_reasoning()
            if not self.at_line_start:
                self._out("\n")
            if event.finish_reason == "length":
                print("alltoken-agent: the reply was cut off at --max-tokens", file=sys.stderr)
        elif event.name == "tool:approval" and event.decision == "deny":
            hint = "" if sys.stdin.isatty() else " (pass --yes to approve tool calls)"
            print(
                f"alltoken-agent: {event.tool_name} not run: {event.reason}{hint}", file=sys.stderr
            )
        elif event.name == "context:trimmed":
            print(
                f"alltoken-agent: left out the {event.dropped} oldest messages to fit "
                f"{event.model}'s context of {event.limit} tokens",
                file=sys.stderr,
            )
        elif event.name == "notice":
            print(f"alltoken-agent: {event.message}", file=sys.stderr)
        elif event.name == "model:chosen":
            print(f"alltoken-agent: chose {event.model}: {event.reason}", file=sys.stderr)
        elif event.name == "budget:warning":
            print(
                f"alltoken-agent: {event.label} {event.fraction_used:.0%} used "
                f"(${event.spent} of ${event.limit})",
                file=sys.stderr,
            )
        elif event.name == "model:fallback":
            print(
                f"alltoken-agent: {event.from_model} failed ({event.error}); "
                f"trying {event.to_model}",
                file=sys.stderr,
            )
        elif self.verbose and event.name == "tool:call":
            args = json.dumps(event.arguments, ensure_ascii=False)
            print(f"→ {event.tool_name}({args})", file=sys.stderr)
        elif self.verbose and event.name == "tool:result":
            mark = "✗" if event.is_error else "←"
            print(f"{mark} {event.result[:200]}", file=sys.stderr)

    def close(self) -> None:
        if not self.writer.enabled and not self.at_line_start:
            self._out("\n")

    def _out(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()
        if text:
            self.at_line_start = text.endswith("\n")

    def _end_reasoning(self) -> None:
        if self.in_reasoning:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.in_reasoning = False


def emit_done(result: RunResult[Any], writer: EventWriter) -> None:
    """Emit the run's ``done`` event: its text, model, usage, cost and tool calls."""
    writer.emit(
        "done",
        text=result.text,
        model=result.model,
        stop_reason=result.stop_reason,
        steps=result.steps,
        usage=None if result.usage is None else result.usage.to_dict(),
        cost=result.cost.to_dict() if result.cost else None,
        request_id=result.request_ids[-1] if result.request_ids else None,
        request_ids=result.request_ids,
        tool_calls=[
            {"name": c.name, "arguments": c.arguments, "is_error": c.is_error}
            for c in result.tool_calls
        ],
    )

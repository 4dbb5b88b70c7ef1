"""How ``alltoken-agent chat`` shows a run: its events as they come, then ``done``."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alltoken_agent import AgentEvent, RunResult
    from alltoken_agent.cli._chat_markdown import MarkdownStream
    from alltoken_agent.cli.output import EventWriter


class ChatPrinter:
    """Shows agent events: NDJSON with --json; else the answer on stdout, the rest on stderr.

    On a terminal (stdout a TTY, no --json) the answer is rendered as Markdown while it
    streams, reasoning dimmed above it and each tool call on one line; piped output is
    the plain text exactly as it came.
    """

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer
        self.at_line_start = True
        self.in_reasoning = False
        self.verbose = sys.stderr.isatty()
        self.markdown: MarkdownStream | None = None
        if not writer.enabled and sys.stdout.isatty():
            # Imported here: Rich loads only when there is a terminal to render on.
            from alltoken_agent.cli._chat_markdown import MarkdownStream

            self.markdown = MarkdownStream()

    def show(self, event: AgentEvent) -> None:
        if event.name == "error":
            return  # the command reports the failure once, with its exit code
        if self.writer.enabled:
            self.writer.emit_event(event.to_dict())
            if event.name == "notice" and event.code is not None:
                # Unknown usage or cost: a person reads stderr even when a program reads stdout.
                print(f"alltoken-agent: {event.message}", file=sys.stderr)
            return
        if self.markdown is not None and self._show_rendered(event, self.markdown):
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
        if self.markdown is not None:
            self.markdown.finish()
            return
        if not self.writer.enabled and not self.at_line_start:
            self._out("\n")

    def interrupted(self) -> None:
        """End a terminal's answer region when the stream stopped early (an error, Ctrl-C).

        Piped output is left exactly as it was: a program reading it sees the text cut.
        """
        if self.markdown is not None:
            # Called while a failure unwinds: a closed terminal must not hide that failure
            # or stop the session from being saved.
            with contextlib.suppress(OSError, ValueError):
                self.markdown.finish()

    def _show_rendered(self, event: AgentEvent, markdown: MarkdownStream) -> bool:
        """Show what a terminal renders differently; False leaves the event to ``show``."""
        if event.name == "stream:delta":
            if event.delta:
                markdown.answer_delta(event.delta)
        elif event.name == "reasoning:delta":
            markdown.reasoning_delta(event.delta)
        elif event.name == "reasoning:end":
            pass  # the dimmed block stays above the answer that follows
        elif event.name == "stream:end":
            markdown.finish()
            return False  # the cut-off notice, if any, is the same as when piped
        elif event.name == "tool:call":
            markdown.tool_call(event.tool_name, event.arguments)
        elif event.name == "tool:result":
            markdown.tool_result(event.result, is_error=event.is_error)
        else:
            return False
        return True

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
    """Emit the run's ``done`` event (``DoneEvent``): its text, model, usage, cost, tools."""
    from alltoken_agent.agent import DoneEvent

    writer.emit_event(DoneEvent.from_result(result).to_dict())

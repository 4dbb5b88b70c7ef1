"""The answer of ``chat`` on a terminal: Markdown rendered while it streams (Rich).

Only imported when stdout is a terminal and ``--json`` is off, so a piped ``chat``
(and ``chat --help``) never loads Rich. Each stretch of answer text between tool calls
is one Rich ``Live`` region: reasoning dimmed in its own block, then the answer as
Markdown. The region is redrawn by Live's own timer at a modest rate, not per chunk:
re-parsing the whole answer for every token would cost more than the tokens.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text

from alltoken_agent.cli.terminal import rich_console

if TYPE_CHECKING:
    from rich.console import RenderableType

REFRESH_PER_SECOND = 8
"""Redraws per second while an answer streams."""


class MarkdownStream:
    """One terminal's view of a run: live Markdown, dim reasoning, one line per tool call."""

    def __init__(self) -> None:
        self.console = rich_console()
        self.live: Live | None = None
        self.reasoning = ""
        self.answer = ""

    def reasoning_delta(self, text: str) -> None:
        """Add reasoning text to the dimmed block above the answer."""
        self.reasoning += text
        self._update()

    def answer_delta(self, text: str) -> None:
        """Add answer text; it shows as Markdown at the next redraw."""
        self.answer += text
        self._update()

    def tool_call(self, name: str, arguments: Any) -> None:
        """End the text so far and show the call as one line, cut to the terminal's width."""
        self.finish()
        args = json.dumps(arguments, ensure_ascii=False)
        self._line(f"→ {name}({args})")

    def tool_result(self, result: str, *, is_error: bool) -> None:
        """Show a tool's result as one dim line (its first line, cut to fit)."""
        self.finish()
        first = result.strip().splitlines()[0] if result.strip() else ""
        self._line(f"{'✗' if is_error else '←'} {first}")

    def finish(self) -> None:
        """Draw the region one last time and end its line; the next text starts a new one."""
        if self.live is not None:
            live, self.live = self.live, None
            live.update(self._renderable())
            live.stop()  # its final, uncropped render ends with a newline
        self.reasoning = ""
        self.answer = ""

    def _update(self) -> None:
        if self.live is None:
            self.live = Live(
                self._renderable(),
                console=self.console,
                refresh_per_second=REFRESH_PER_SECOND,
                vertical_overflow="ellipsis",
            )
            self.live.start()
        else:
            self.live.update(self._renderable())  # drawn by Live's timer, not now

    def _renderable(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self.reasoning:
            # Text, not markup: reasoning from a gateway may hold "[...]".
            parts.append(Text(self.reasoning.strip("\n"), style="dim italic"))
            if self.answer:
                parts.append(Text(""))
        if self.answer:
            parts.append(Markdown(self.answer))
        return Group(*parts)

    def _line(self, text: str) -> None:
        self.console.print(Text(text, style="dim"), overflow="ellipsis", no_wrap=True, crop=True)

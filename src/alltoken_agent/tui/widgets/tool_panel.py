"""A tool call and its result, as one compact panel."""

from __future__ import annotations

import json
from typing import Any

from textual.content import Content
from textual.widgets import Static

_MAX_RESULT = 600
"""Characters of a result shown; the model still gets all of it."""


class ToolPanel(Static):
    """Shows ``→ name(args)`` while the tool runs, then ``← result`` below it."""

    def __init__(self, tool_name: str, arguments: Any, call_id: str) -> None:
        self.tool_name = tool_name
        self.call_id = call_id
        self.arguments = arguments
        self.result: str | None = None
        self.is_error = False
        super().__init__(self._content())
        self.border_title = f"tool · {tool_name}"

    def set_result(self, result: str, *, is_error: bool) -> None:
        """Show the tool's result (or error)."""
        self.result = result
        self.is_error = is_error
        self.set_class(is_error, "-error")
        self.update(self._content())

    def _content(self) -> Content:
        args = (
            self.arguments
            if isinstance(self.arguments, str)
            else json.dumps(self.arguments, ensure_ascii=False)
        )
        call = Content.assemble(("→ ", "bold"), (self.tool_name, "bold"), f"({args})")
        if self.result is None:
            return Content.assemble(call, ("  running…", "italic"))
        shown = self.result if len(self.result) <= _MAX_RESULT else self.result[:_MAX_RESULT] + "…"
        mark = "✗ " if self.is_error else "← "
        return Content.assemble(call, "\n", (mark, "bold"), shown)

"""What each model of a turn is sent: sampling, thinking, search flag or search tool.

Taken from the agent when a turn starts (its attributes may change between
turns, e.g. thinking toggled in the TUI), then fixed for the turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from alltoken_agent.agent.builtin_tools import web_search
from alltoken_agent.agent.events import NoticeEvent
from alltoken_agent.agent.families import FamilyTable
from alltoken_agent.agent.settings import ModelSettings, request_fields
from alltoken_agent.agent.tools import Tool
from alltoken_agent.gateway import Provider


@dataclass(frozen=True)
class RequestOptions:
    """The request fields and tools one turn sends to each model of its chain."""

    provider: Provider
    families: FamilyTable
    tools: Sequence[Tool]
    temperature: float | None
    enable_search: bool
    thinking: bool
    thinking_budget: int | None
    settings: ModelSettings = field(default_factory=lambda: ModelSettings())
    """The agent's other settings (its knobs above are taken out)."""

    def native_search(self, model: str) -> bool:
        """Whether ``model`` searches with the gateway's ``enable_search`` flag."""
        return (
            self.provider.dialect == "alltoken" and self.families.lookup(model).search == "native"
        )

    def fields_for(self, model: str) -> dict[str, Any]:
        """Request fields for ``model`` (``settings`` win over the knobs)."""
        fields: dict[str, Any] = {}
        if self.temperature is not None:
            fields["temperature"] = self.temperature
        if self.enable_search and self.native_search(model):
            fields["enable_search"] = True
        if self.thinking:
            fields["thinking"] = True
            if self.thinking_budget is not None:
                fields["thinking_budget"] = self.thinking_budget
        fields.update(request_fields(self.settings))
        return fields

    def tools_for(self, model: str) -> list[Tool]:
        """The tools offered to ``model``: the web_search tool stands in for the flag."""
        tools = list(self.tools)
        if (
            self.enable_search
            and not self.native_search(model)
            and all(t.name != web_search.name for t in tools)
        ):
            tools.append(web_search)
        return tools

    def search_notice(self, model: str) -> NoticeEvent | None:
        """The notice that ``model`` searches through the tool, when it does."""
        if not self.enable_search or self.native_search(model):
            return None
        family = self.families.lookup(model)
        return NoticeEvent(
            message=f"{model} ({family.name} family on {self.provider.name}) does not "
            "search with enable_search; the agent uses the web_search tool instead"
        )

"""The agent core: conversation, tool loop, events and hooks, structured output.

``Agent``, its settings, results, events and tools are public at the root
(``from alltoken_agent import Agent``); this package's ``__all__`` lists the agent's
further names. The root's names and a few internal ones can also be imported from here
(``X as X``), each on first use (docs/architecture.md, "The public API").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alltoken_agent._lazy_exports import lazy_exports

# Names load on first use (PEP 562), so that importing one agent module (chat's
# `approval`, the server's `builtin_tools`) does not load the whole agent, and the
# agent does not load the MCP client or the factory until something asks for them.
# Type checkers read this block; `_LAZY` below says the same for the interpreter
# (tests/test_import_weight.py checks that they agree).
if TYPE_CHECKING:
    from alltoken_agent.agent.agent import DEFAULT_INSTRUCTIONS as DEFAULT_INSTRUCTIONS
    from alltoken_agent.agent.agent import DEFAULT_MODEL
    from alltoken_agent.agent.agent import Agent as Agent
    from alltoken_agent.agent.approval import ApprovalDecision, ApprovalHandler, ApprovalRequest
    from alltoken_agent.agent.builtin_tools import BUILTIN_TOOLS as BUILTIN_TOOLS
    from alltoken_agent.agent.builtin_tools import DEFAULT_TOOL_NAMES as DEFAULT_TOOL_NAMES
    from alltoken_agent.agent.builtin_tools import calculate as calculate
    from alltoken_agent.agent.builtin_tools import get_current_time as get_current_time
    from alltoken_agent.agent.builtin_tools import resolve_tool_names as resolve_tool_names
    from alltoken_agent.agent.builtin_tools import web_search as web_search
    from alltoken_agent.agent.content import IMAGE_URL_PATTERN as IMAGE_URL_PATTERN
    from alltoken_agent.agent.content import image as image
    from alltoken_agent.agent.content import text as text
    from alltoken_agent.agent.events import EVENT_NAMES
    from alltoken_agent.agent.events import STREAM_EVENT_NAMES as STREAM_EVENT_NAMES
    from alltoken_agent.agent.events import AgentEvent as AgentEvent
    from alltoken_agent.agent.events import BudgetWarningEvent as BudgetWarningEvent
    from alltoken_agent.agent.events import ContextTrimmedEvent as ContextTrimmedEvent
    from alltoken_agent.agent.events import CostEvent as CostEvent
    from alltoken_agent.agent.events import ErrorEvent as ErrorEvent
    from alltoken_agent.agent.events import MessageAssistantEvent as MessageAssistantEvent
    from alltoken_agent.agent.events import MessageUserEvent as MessageUserEvent
    from alltoken_agent.agent.events import ModelFallbackEvent as ModelFallbackEvent
    from alltoken_agent.agent.events import NoticeEvent as NoticeEvent
    from alltoken_agent.agent.events import ReasoningDeltaEvent as ReasoningDeltaEvent
    from alltoken_agent.agent.events import ReasoningEndEvent as ReasoningEndEvent
    from alltoken_agent.agent.events import ReasoningStartEvent as ReasoningStartEvent
    from alltoken_agent.agent.events import StreamDeltaEvent as StreamDeltaEvent
    from alltoken_agent.agent.events import StreamEndEvent as StreamEndEvent
    from alltoken_agent.agent.events import StreamStartEvent as StreamStartEvent
    from alltoken_agent.agent.events import ThinkingEndEvent as ThinkingEndEvent
    from alltoken_agent.agent.events import ToolApprovalEvent as ToolApprovalEvent
    from alltoken_agent.agent.events import ToolCallEvent as ToolCallEvent
    from alltoken_agent.agent.events import ToolResultEvent as ToolResultEvent
    from alltoken_agent.agent.events import UsageEvent as UsageEvent
    from alltoken_agent.agent.factory import create_agent as create_agent
    from alltoken_agent.agent.families import DEFAULT_FAMILIES, FamilyTable, ModelFamily
    from alltoken_agent.agent.mcp_client import MCPTools, MCPToolset, open_mcp_tools
    from alltoken_agent.agent.result import DoneEvent as DoneEvent
    from alltoken_agent.agent.result import RetryEvent as RetryEvent
    from alltoken_agent.agent.result import RunResult as RunResult
    from alltoken_agent.agent.result import ToolCallRecord as ToolCallRecord
    from alltoken_agent.agent.run_handle import AgentRun as AgentRun
    from alltoken_agent.agent.settings import ModelSettings as ModelSettings
    from alltoken_agent.agent.tools import ModelRetry as ModelRetry
    from alltoken_agent.agent.tools import Tool as Tool
    from alltoken_agent.agent.tools import ToolContext as ToolContext
    from alltoken_agent.agent.tools import tool as tool
    from alltoken_agent.mcp_wire.servers import MCPServer, MCPServerError

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_MODEL",
    "EVENT_NAMES",
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalRequest",
    "FamilyTable",
    "MCPServer",
    "MCPServerError",
    "MCPTools",
    "MCPToolset",
    "ModelFamily",
    "open_mcp_tools",
]

_LAZY: dict[str, tuple[str, ...]] = {
    "alltoken_agent.agent.agent": ("DEFAULT_INSTRUCTIONS", "DEFAULT_MODEL", "Agent"),
    "alltoken_agent.agent.approval": ("ApprovalDecision", "ApprovalHandler", "ApprovalRequest"),
    "alltoken_agent.agent.builtin_tools": (
        "BUILTIN_TOOLS",
        "DEFAULT_TOOL_NAMES",
        "calculate",
        "get_current_time",
        "resolve_tool_names",
        "web_search",
    ),
    "alltoken_agent.agent.content": ("IMAGE_URL_PATTERN", "image", "text"),
    "alltoken_agent.agent.events": (
        "EVENT_NAMES",
        "STREAM_EVENT_NAMES",
        "AgentEvent",
        "BudgetWarningEvent",
        "ContextTrimmedEvent",
        "CostEvent",
        "ErrorEvent",
        "MessageAssistantEvent",
        "MessageUserEvent",
        "ModelFallbackEvent",
        "NoticeEvent",
        "ReasoningDeltaEvent",
        "ReasoningEndEvent",
        "ReasoningStartEvent",
        "StreamDeltaEvent",
        "StreamEndEvent",
        "StreamStartEvent",
        "ThinkingEndEvent",
        "ToolApprovalEvent",
        "ToolCallEvent",
        "ToolResultEvent",
        "UsageEvent",
    ),
    "alltoken_agent.agent.factory": ("create_agent",),
    "alltoken_agent.agent.families": ("DEFAULT_FAMILIES", "FamilyTable", "ModelFamily"),
    "alltoken_agent.agent.mcp_client": ("MCPTools", "MCPToolset", "open_mcp_tools"),
    "alltoken_agent.mcp_wire.servers": ("MCPServer", "MCPServerError"),
    "alltoken_agent.agent.result": ("DoneEvent", "RetryEvent", "RunResult", "ToolCallRecord"),
    "alltoken_agent.agent.run_handle": ("AgentRun",),
    "alltoken_agent.agent.settings": ("ModelSettings",),
    "alltoken_agent.agent.tools": ("ModelRetry", "Tool", "ToolContext", "tool"),
}
"""Defining module -> the names loaded from it on first use."""
# The module __getattr__ this installs is invisible to type checkers, which read the
# TYPE_CHECKING imports above and so still reject unknown names.
_SOURCE = lazy_exports(globals(), _LAZY)

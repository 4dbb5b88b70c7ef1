"""The agent core: conversation, tool loop, events and hooks, structured output."""

from __future__ import annotations

from alltoken_agent.agent.agent import DEFAULT_INSTRUCTIONS, DEFAULT_MODEL, Agent
from alltoken_agent.agent.approval import ApprovalDecision, ApprovalHandler, ApprovalRequest
from alltoken_agent.agent.builtin_tools import (
    BUILTIN_TOOLS,
    DEFAULT_TOOL_NAMES,
    calculate,
    get_current_time,
    make_web_search,
    resolve_tool_names,
    web_search,
)
from alltoken_agent.agent.content import IMAGE_URL_PATTERN, image, text
from alltoken_agent.agent.events import (
    EVENT_NAMES,
    STREAM_EVENT_NAMES,
    AgentEvent,
    BudgetWarningEvent,
    ContextTrimmedEvent,
    CostEvent,
    ErrorEvent,
    MessageAssistantEvent,
    MessageUserEvent,
    ModelChosenEvent,
    ModelFallbackEvent,
    NoticeEvent,
    ReasoningDeltaEvent,
    ReasoningEndEvent,
    ReasoningStartEvent,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)
from alltoken_agent.agent.factory import create_agent
from alltoken_agent.agent.families import DEFAULT_FAMILIES, FamilyTable, ModelFamily
from alltoken_agent.agent.mcp_client import MCPTools, MCPToolset, open_mcp_tools
from alltoken_agent.agent.mcp_servers import MCPServer, MCPServerError, servers_from_config
from alltoken_agent.agent.result import RunResult, ToolCallRecord
from alltoken_agent.agent.run_handle import AgentRun
from alltoken_agent.agent.settings import ModelSettings
from alltoken_agent.agent.tools import ModelRetry, Tool, ToolContext, ToolOutcome, tool

__all__ = [
    "BUILTIN_TOOLS",
    "DEFAULT_FAMILIES",
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_MODEL",
    "DEFAULT_TOOL_NAMES",
    "EVENT_NAMES",
    "IMAGE_URL_PATTERN",
    "STREAM_EVENT_NAMES",
    "Agent",
    "ApprovalDecision",
    "ApprovalHandler",
    "ApprovalRequest",
    "AgentEvent",
    "AgentRun",
    "BudgetWarningEvent",
    "ContextTrimmedEvent",
    "CostEvent",
    "ErrorEvent",
    "FamilyTable",
    "MCPServer",
    "MCPServerError",
    "MCPTools",
    "MCPToolset",
    "MessageAssistantEvent",
    "MessageUserEvent",
    "ModelChosenEvent",
    "ModelFallbackEvent",
    "ModelFamily",
    "ModelRetry",
    "ModelSettings",
    "NoticeEvent",
    "ReasoningDeltaEvent",
    "ReasoningEndEvent",
    "ReasoningStartEvent",
    "RunResult",
    "StreamDeltaEvent",
    "StreamEndEvent",
    "StreamStartEvent",
    "ThinkingEndEvent",
    "ThinkingStartEvent",
    "Tool",
    "ToolApprovalEvent",
    "ToolCallEvent",
    "ToolCallRecord",
    "ToolContext",
    "ToolOutcome",
    "ToolResultEvent",
    "UsageEvent",
    "calculate",
    "create_agent",
    "get_current_time",
    "image",
    "make_web_search",
    "open_mcp_tools",
    "resolve_tool_names",
    "servers_from_config",
    "text",
    "tool",
    "web_search",
]

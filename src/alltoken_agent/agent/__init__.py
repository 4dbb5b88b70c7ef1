"""The agent core: conversation, tool loop, events and hooks, structured output."""

from __future__ import annotations

from alltoken_agent.agent.agent import DEFAULT_INSTRUCTIONS, DEFAULT_MODEL, Agent, AgentRun
from alltoken_agent.agent.builtin_tools import (
    BUILTIN_TOOLS,
    DEFAULT_TOOL_NAMES,
    calculate,
    get_current_time,
    make_web_search,
    resolve_tool_names,
    web_search,
)
from alltoken_agent.agent.content import image, text
from alltoken_agent.agent.events import (
    EVENT_NAMES,
    AgentEvent,
    CostEvent,
    ErrorEvent,
    MessageAssistantEvent,
    MessageUserEvent,
    ModelFallbackEvent,
    NoticeEvent,
    ReasoningDeltaEvent,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)
from alltoken_agent.agent.families import DEFAULT_FAMILIES, FamilyTable, ModelFamily
from alltoken_agent.agent.result import RunResult, ToolCallRecord
from alltoken_agent.agent.tools import ModelRetry, Tool, ToolContext, ToolOutcome, tool

__all__ = [
    "BUILTIN_TOOLS",
    "DEFAULT_FAMILIES",
    "DEFAULT_INSTRUCTIONS",
    "DEFAULT_MODEL",
    "DEFAULT_TOOL_NAMES",
    "EVENT_NAMES",
    "Agent",
    "AgentEvent",
    "AgentRun",
    "CostEvent",
    "ErrorEvent",
    "FamilyTable",
    "MessageAssistantEvent",
    "MessageUserEvent",
    "ModelFallbackEvent",
    "ModelFamily",
    "ModelRetry",
    "NoticeEvent",
    "ReasoningDeltaEvent",
    "RunResult",
    "StreamDeltaEvent",
    "StreamEndEvent",
    "StreamStartEvent",
    "ThinkingEndEvent",
    "ThinkingStartEvent",
    "Tool",
    "ToolCallEvent",
    "ToolCallRecord",
    "ToolContext",
    "ToolOutcome",
    "ToolResultEvent",
    "UsageEvent",
    "calculate",
    "get_current_time",
    "image",
    "make_web_search",
    "resolve_tool_names",
    "text",
    "tool",
    "web_search",
]

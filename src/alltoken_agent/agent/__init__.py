"""The agent core: conversation, tool loop, events and hooks, structured output.

``Agent``, its settings, results, events and tools are public at the root
(``from alltoken_agent import Agent``); this package's ``__all__`` lists the agent's
further names. The root's names and a few internal ones are also imported here
(``X as X``) for the package's own modules (docs/architecture.md, "The public API").
"""

from __future__ import annotations

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
from alltoken_agent.agent.events import RetryEvent as RetryEvent
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
from alltoken_agent.agent.mcp_servers import MCPServer, MCPServerError
from alltoken_agent.agent.result import DoneEvent as DoneEvent
from alltoken_agent.agent.result import RunResult as RunResult
from alltoken_agent.agent.result import ToolCallRecord as ToolCallRecord
from alltoken_agent.agent.run_handle import AgentRun as AgentRun
from alltoken_agent.agent.settings import ModelSettings as ModelSettings
from alltoken_agent.agent.tools import ModelRetry as ModelRetry
from alltoken_agent.agent.tools import Tool as Tool
from alltoken_agent.agent.tools import ToolContext as ToolContext
from alltoken_agent.agent.tools import tool as tool

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

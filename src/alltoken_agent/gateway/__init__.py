"""The wire layer: providers, HTTP transport, SSE decoding, errors and retries."""

from __future__ import annotations

from alltoken_agent.gateway.client import OFFLINE_KEY, Gateway, RetryNotice
from alltoken_agent.gateway.providers import (
    BUILTIN_PROVIDERS,
    DEFAULT_PROVIDER,
    Provider,
    Resolved,
    get_provider,
    provider_names,
    resolve,
)
from alltoken_agent.gateway.records import Observer, RequestKind, RequestRecord, request_tags
from alltoken_agent.gateway.redact import Redactor
from alltoken_agent.gateway.retry import RetryPolicy
from alltoken_agent.gateway.stream import ChatStream
from alltoken_agent.gateway.types import (
    ChatResult,
    ContentDelta,
    Cost,
    CostComment,
    ReasoningDelta,
    StreamEvent,
    StreamFinish,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageChunk,
)

__all__ = [
    "BUILTIN_PROVIDERS",
    "DEFAULT_PROVIDER",
    "OFFLINE_KEY",
    "Observer",
    "ChatResult",
    "ChatStream",
    "ContentDelta",
    "Cost",
    "CostComment",
    "StreamFinish",
    "Gateway",
    "Provider",
    "ReasoningDelta",
    "Redactor",
    "RequestKind",
    "RequestRecord",
    "Resolved",
    "RetryNotice",
    "RetryPolicy",
    "StreamEvent",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "UsageChunk",
    "get_provider",
    "provider_names",
    "request_tags",
    "resolve",
]

"""The wire layer: providers, HTTP transport, SSE decoding, errors and retries."""

from __future__ import annotations

from alltoken_agent.gateway.accounting import Cost, Usage
from alltoken_agent.gateway.catalog_facets import ModelFilters, ProviderStats
from alltoken_agent.gateway.catalog_types import (
    CAPABILITIES,
    CatalogEntry,
    HealthSummary,
    ModelInfo,
    ProviderInfo,
    RankingEntry,
    Rankings,
    RouteHealth,
    RouteStatus,
)
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
    CostComment,
    ReasoningDelta,
    StreamEvent,
    StreamFinish,
    ToolCall,
    ToolCallDelta,
    UsageChunk,
)

__all__ = [
    "BUILTIN_PROVIDERS",
    "CAPABILITIES",
    "DEFAULT_PROVIDER",
    "OFFLINE_KEY",
    "Observer",
    "CatalogEntry",
    "ChatResult",
    "ChatStream",
    "ContentDelta",
    "Cost",
    "CostComment",
    "StreamFinish",
    "Gateway",
    "HealthSummary",
    "ModelFilters",
    "ModelInfo",
    "Provider",
    "ProviderInfo",
    "ProviderStats",
    "RankingEntry",
    "Rankings",
    "ReasoningDelta",
    "Redactor",
    "RequestKind",
    "RequestRecord",
    "Resolved",
    "RetryNotice",
    "RetryPolicy",
    "RouteHealth",
    "RouteStatus",
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

"""The wire layer: providers, HTTP transport, SSE decoding, errors and retries.

``Gateway`` and the types of its answers (``ChatResult``, ``Usage``, the stream
events, ...) are public at the root, ``from alltoken_agent import Gateway``; this
package's ``__all__`` lists its own further names: the provider registry, the request
records' observer, and the catalog's answer types. The root's names are also
imported here (``X as X``) for the package's own modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import alltoken_agent._httpx_import  # noqa: F401  (before httpx: see there)
from alltoken_agent._lazy_exports import lazy_exports
from alltoken_agent.gateway.accounting import Cost as Cost
from alltoken_agent.gateway.accounting import Usage as Usage
from alltoken_agent.gateway.client import Gateway as Gateway
from alltoken_agent.gateway.client import RetryNotice as RetryNotice
from alltoken_agent.gateway.providers import (
    BUILTIN_PROVIDERS,
    DEFAULT_PROVIDER,
    get_provider,
    provider_names,
)
from alltoken_agent.gateway.providers import Provider as Provider
from alltoken_agent.gateway.providers import resolve as resolve
from alltoken_agent.gateway.records import Observer, RequestKind
from alltoken_agent.gateway.records import RequestRecord as RequestRecord
from alltoken_agent.gateway.records import request_tags as request_tags
from alltoken_agent.gateway.retry import RetryPolicy as RetryPolicy
from alltoken_agent.gateway.stream import ChatStream as ChatStream
from alltoken_agent.gateway.types import ChatResult as ChatResult
from alltoken_agent.gateway.types import ContentDelta as ContentDelta
from alltoken_agent.gateway.types import CostComment as CostComment
from alltoken_agent.gateway.types import ReasoningDelta as ReasoningDelta
from alltoken_agent.gateway.types import StreamEvent as StreamEvent
from alltoken_agent.gateway.types import StreamFinish as StreamFinish
from alltoken_agent.gateway.types import ToolCall as ToolCall
from alltoken_agent.gateway.types import ToolCallDelta as ToolCallDelta
from alltoken_agent.gateway.types import UsageChunk as UsageChunk

# The catalog's answer types are imported on first use (PEP 562): a chat request needs
# none of them, and their modules (a dozen dataclasses) took about 8 ms of this
# package's import. Type checkers read this block; ``_CATALOG`` says the same for the
# interpreter (tests/gateway/test_import_cost.py checks that they agree).
if TYPE_CHECKING:
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

_CATALOG = {
    "alltoken_agent.gateway.catalog_facets": ("ModelFilters", "ProviderStats"),
    "alltoken_agent.gateway.catalog_types": (
        "CAPABILITIES",
        "CatalogEntry",
        "HealthSummary",
        "ModelInfo",
        "ProviderInfo",
        "RankingEntry",
        "Rankings",
        "RouteHealth",
        "RouteStatus",
    ),
}
_SOURCE = lazy_exports(globals(), _CATALOG)

__all__ = [
    "BUILTIN_PROVIDERS",
    "CAPABILITIES",
    "DEFAULT_PROVIDER",
    "CatalogEntry",
    "HealthSummary",
    "ModelFilters",
    "ModelInfo",
    "Observer",
    "ProviderInfo",
    "ProviderStats",
    "RankingEntry",
    "Rankings",
    "RequestKind",
    "RouteHealth",
    "RouteStatus",
    "get_provider",
    "provider_names",
]

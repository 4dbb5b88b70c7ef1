"""alltoken-agent: agents on AllToken and other OpenAI-compatible gateways.

This is the public API an application uses: the agent, the gateway, media jobs, the
catalog, their settings, results and events, and the error tree. Each name is exported
once, here, and its ``__module__`` says ``alltoken_agent`` (as httpx's do), so reprs,
tracebacks and pickles name the import that stays stable while modules move. The
subpackages' ``__all__`` list only their own further names (docs/architecture.md,
"The public API").
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alltoken_agent._lazy_exports import lazy_exports
from alltoken_agent._version import __version__
from alltoken_agent.errors import (
    AgentError,
    AllModelsFailedError,
    AllTokenAgentError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigError,
    ConflictError,
    ContextLengthError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    GoneError,
    MaxStepsExceededError,
    MediaJobError,
    NotFoundError,
    OutputValidationError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    StreamInterruptedError,
    StreamTimeoutError,
    ToolError,
    UpstreamError,
    UserError,
)

# The other names are imported on first use (PEP 562), so that `import alltoken_agent`
# and every `alltoken_agent.cli` command's --help stay fast: the agent, gateway and
# media layers pull in httpx, pydantic and SQLAlchemy. Type checkers read this block;
# `_LAZY` below says the same for the interpreter (tests/test_public_api.py checks
# that they agree).
if TYPE_CHECKING:
    from alltoken_agent.agent.agent import Agent
    from alltoken_agent.agent.builtin_tools import calculate, get_current_time, web_search
    from alltoken_agent.agent.content import image, text
    from alltoken_agent.agent.events import (
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
    from alltoken_agent.agent.function_tool import Tool, ToolContext
    from alltoken_agent.agent.result import DoneEvent, RetryEvent, RunResult, ToolCallRecord
    from alltoken_agent.agent.run_handle import AgentRun
    from alltoken_agent.agent.settings import ModelSettings
    from alltoken_agent.agent.tool_messages import ModelRetry
    from alltoken_agent.agent.tools import tool
    from alltoken_agent.catalog.service import Catalog
    from alltoken_agent.config import Config, load_config
    from alltoken_agent.gateway._transport import RetryNotice
    from alltoken_agent.gateway.accounting import Cost, Usage
    from alltoken_agent.gateway.client import Gateway
    from alltoken_agent.gateway.providers import Provider
    from alltoken_agent.gateway.records import RequestRecord, request_tags
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
    from alltoken_agent.media.events import (
        JobDoneEvent,
        JobDownloadEvent,
        JobEvent,
        JobSavedEvent,
        JobStatusEvent,
        JobSubmittedEvent,
    )
    from alltoken_agent.media.images import ImagesAPI
    from alltoken_agent.media.jobs import Media
    from alltoken_agent.media.policy import PollPolicy
    from alltoken_agent.media.results import ImageResult, MediaFile, VideoResult, VideoTask
    from alltoken_agent.media.videos import VideosAPI
    from alltoken_agent.paths import AppDirs, app_dirs
    from alltoken_agent.store.media import MediaJobRecord

__all__ = [
    "Agent",
    "AgentError",
    "AgentEvent",
    "AgentRun",
    "AllModelsFailedError",
    "AllTokenAgentError",
    "AppDirs",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "BudgetWarningEvent",
    "Catalog",
    "ChatResult",
    "ChatStream",
    "Config",
    "ConfigError",
    "ConflictError",
    "ContentDelta",
    "ContextLengthError",
    "ContextTrimmedEvent",
    "Cost",
    "CostComment",
    "CostEvent",
    "DoneEvent",
    "ErrorEvent",
    "Gateway",
    "GatewayConnectionError",
    "GatewayError",
    "GatewayTimeoutError",
    "GoneError",
    "ImageResult",
    "ImagesAPI",
    "JobDoneEvent",
    "JobDownloadEvent",
    "JobEvent",
    "JobSavedEvent",
    "JobStatusEvent",
    "JobSubmittedEvent",
    "MaxStepsExceededError",
    "Media",
    "MediaFile",
    "MediaJobError",
    "MediaJobRecord",
    "MessageAssistantEvent",
    "MessageUserEvent",
    "ModelChosenEvent",
    "ModelFallbackEvent",
    "ModelRetry",
    "ModelSettings",
    "NotFoundError",
    "NoticeEvent",
    "OutputValidationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PollPolicy",
    "Provider",
    "RateLimitError",
    "ReasoningDelta",
    "ReasoningDeltaEvent",
    "ReasoningEndEvent",
    "ReasoningStartEvent",
    "RequestRecord",
    "RetryEvent",
    "RetryNotice",
    "RetryPolicy",
    "RunResult",
    "StreamDeltaEvent",
    "StreamEndEvent",
    "StreamEvent",
    "StreamFinish",
    "StreamInterruptedError",
    "StreamStartEvent",
    "StreamTimeoutError",
    "ThinkingEndEvent",
    "ThinkingStartEvent",
    "Tool",
    "ToolApprovalEvent",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEvent",
    "ToolCallRecord",
    "ToolContext",
    "ToolError",
    "ToolResultEvent",
    "UpstreamError",
    "Usage",
    "UsageChunk",
    "UsageEvent",
    "UserError",
    "VideoResult",
    "VideoTask",
    "VideosAPI",
    "__version__",
    "app_dirs",
    "calculate",
    "create_agent",
    "get_current_time",
    "image",
    "load_config",
    "request_tags",
    "text",
    "tool",
    "web_search",
]

_LAZY: dict[str, tuple[str, ...]] = {
    "alltoken_agent.agent.agent": ("Agent",),
    "alltoken_agent.agent.builtin_tools": ("calculate", "get_current_time", "web_search"),
    "alltoken_agent.agent.content": ("image", "text"),
    "alltoken_agent.agent.events": (
        "AgentEvent",
        "BudgetWarningEvent",
        "ContextTrimmedEvent",
        "CostEvent",
        "ErrorEvent",
        "MessageAssistantEvent",
        "MessageUserEvent",
        "ModelChosenEvent",
        "ModelFallbackEvent",
        "NoticeEvent",
        "ReasoningDeltaEvent",
        "ReasoningEndEvent",
        "ReasoningStartEvent",
        "StreamDeltaEvent",
        "StreamEndEvent",
        "StreamStartEvent",
        "ThinkingEndEvent",
        "ThinkingStartEvent",
        "ToolApprovalEvent",
        "ToolCallEvent",
        "ToolResultEvent",
        "UsageEvent",
    ),
    "alltoken_agent.agent.factory": ("create_agent",),
    "alltoken_agent.agent.function_tool": ("Tool", "ToolContext"),
    "alltoken_agent.agent.result": ("DoneEvent", "RetryEvent", "RunResult", "ToolCallRecord"),
    "alltoken_agent.agent.run_handle": ("AgentRun",),
    "alltoken_agent.agent.settings": ("ModelSettings",),
    "alltoken_agent.agent.tool_messages": ("ModelRetry",),
    "alltoken_agent.agent.tools": ("tool",),
    "alltoken_agent.catalog.service": ("Catalog",),
    "alltoken_agent.config": ("Config", "load_config"),
    "alltoken_agent.gateway._transport": ("RetryNotice",),
    "alltoken_agent.gateway.accounting": ("Cost", "Usage"),
    "alltoken_agent.gateway.client": ("Gateway",),
    "alltoken_agent.gateway.providers": ("Provider",),
    "alltoken_agent.gateway.records": ("RequestRecord", "request_tags"),
    "alltoken_agent.gateway.retry": ("RetryPolicy",),
    "alltoken_agent.gateway.stream": ("ChatStream",),
    "alltoken_agent.gateway.types": (
        "ChatResult",
        "ContentDelta",
        "CostComment",
        "ReasoningDelta",
        "StreamEvent",
        "StreamFinish",
        "ToolCall",
        "ToolCallDelta",
        "UsageChunk",
    ),
    "alltoken_agent.media.events": (
        "JobDoneEvent",
        "JobDownloadEvent",
        "JobEvent",
        "JobSavedEvent",
        "JobStatusEvent",
        "JobSubmittedEvent",
    ),
    "alltoken_agent.media.images": ("ImagesAPI",),
    "alltoken_agent.media.jobs": ("Media",),
    "alltoken_agent.media.policy": ("PollPolicy",),
    "alltoken_agent.media.results": ("ImageResult", "MediaFile", "VideoResult", "VideoTask"),
    "alltoken_agent.media.videos": ("VideosAPI",),
    "alltoken_agent.paths": ("AppDirs", "app_dirs"),
    "alltoken_agent.store.media": ("MediaJobRecord",),
}
"""Defining module -> the names re-exported from it on first use."""


def _resolve_annotations(cls: type) -> None:
    """Evaluate ``cls``'s own postponed annotations in the module that wrote them.

    ``typing.get_type_hints`` and pydantic evaluate a class's string annotations in
    ``sys.modules[cls.__module__]``; once that is ``alltoken_agent``, the names they
    use (``Decimal``, ``Path``, ...) are not found there. Evaluated first, they need no
    module. A class whose hints did not resolve where it was written keeps its strings.
    """
    own = cls.__dict__.get("__annotations__")
    if not isinstance(own, dict) or not any(
        isinstance(h, str | typing.ForwardRef) for h in own.values()
    ):
        return  # nothing postponed (the errors): nothing to evaluate at import time
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # e.g. a name imported only for type checkers: as it was before
        return
    own.update({key: hints[key] for key in own if key in hints})
    # pydantic reads a dataclass's field types from its fields, not its annotations.
    for field in getattr(cls, "__dataclass_fields__", {}).values():
        if field.name in own and field.name in hints:
            field.type = hints[field.name]


def _set_module(value: object) -> None:
    """Make ``alltoken_agent`` the ``__module__`` of a root export (a class or function)."""
    if isinstance(value, type):
        if value.__module__ == __name__:
            return
        _resolve_annotations(value)
    elif isinstance(value, types.FunctionType):
        if value.__module__ == __name__:
            return
        # typing.get_overloads() files overloads under the function's module: move them.
        for stub in getattr(typing, "get_overloads", lambda _: ())(value):
            stub.__module__ = __name__
            typing.overload(stub)
    else:  # a union alias or a tool instance has no module of its own
        return
    value.__module__ = __name__


_SOURCE = lazy_exports(globals(), _LAZY)
_load: Callable[[str], Any] = globals()["__getattr__"]
for _name in __all__:  # the errors, imported above
    _set_module(globals().get(_name))
del _name

# The module __getattr__ is hidden from type checkers (one they could see would make
# every attribute valid); they read the TYPE_CHECKING imports above and so still
# reject unknown names.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Import ``name`` on first use and give it ``alltoken_agent`` as its module."""
        value = _load(name)
        _set_module(value)
        return value

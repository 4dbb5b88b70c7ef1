"""alltoken-agent: agents on AllToken and other OpenAI-compatible gateways."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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
    ToolError,
    UpstreamError,
    UserError,
)

# The other names are imported on first use (PEP 562), so that `import alltoken_agent`
# and every `alltoken_agent.cli` command's --help stay fast: the agent, gateway and
# media layers pull in httpx, pydantic and SQLAlchemy. Type checkers read this block;
# `_LAZY` below says the same for the interpreter (tests/cli/test_exported_members.py
# checks that they agree).
if TYPE_CHECKING:
    from alltoken_agent.agent import (
        Agent,
        AgentEvent,
        AgentRun,
        ModelRetry,
        RunResult,
        Tool,
        ToolCallRecord,
        ToolContext,
        calculate,
        create_agent,
        get_current_time,
        image,
        text,
        tool,
        web_search,
    )
    from alltoken_agent.config import Config, load_config
    from alltoken_agent.gateway import (
        ChatResult,
        ChatStream,
        ContentDelta,
        Cost,
        CostComment,
        Gateway,
        Provider,
        ReasoningDelta,
        RequestRecord,
        RetryNotice,
        RetryPolicy,
        StreamEvent,
        StreamFinish,
        ToolCall,
        ToolCallDelta,
        Usage,
        UsageChunk,
        request_tags,
    )
    from alltoken_agent.media import (
        ImageResult,
        ImagesAPI,
        JobDoneEvent,
        JobDownloadEvent,
        JobEvent,
        JobSavedEvent,
        JobStatusEvent,
        JobSubmittedEvent,
        MediaFile,
        MediaJobRecord,
        PollPolicy,
        VideoResult,
        VideosAPI,
        VideoTask,
        resume_job,
    )
    from alltoken_agent.paths import AppDirs, app_dirs

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
    "ChatResult",
    "ChatStream",
    "Config",
    "ConfigError",
    "ConflictError",
    "ContentDelta",
    "Cost",
    "CostComment",
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
    "MediaFile",
    "MediaJobError",
    "MediaJobRecord",
    "ModelRetry",
    "NotFoundError",
    "OutputValidationError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PollPolicy",
    "Provider",
    "RateLimitError",
    "ReasoningDelta",
    "RequestRecord",
    "RetryNotice",
    "RetryPolicy",
    "RunResult",
    "StreamEvent",
    "StreamFinish",
    "StreamInterruptedError",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallRecord",
    "ToolContext",
    "ToolError",
    "UpstreamError",
    "Usage",
    "UsageChunk",
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
    "resume_job",
    "text",
    "tool",
    "web_search",
]

_LAZY: dict[str, tuple[str, ...]] = {
    "alltoken_agent.agent": (
        "Agent",
        "AgentEvent",
        "AgentRun",
        "ModelRetry",
        "RunResult",
        "Tool",
        "ToolCallRecord",
        "ToolContext",
        "calculate",
        "create_agent",
        "get_current_time",
        "image",
        "text",
        "tool",
        "web_search",
    ),
    "alltoken_agent.config": ("Config", "load_config"),
    "alltoken_agent.gateway": (
        "ChatResult",
        "ChatStream",
        "ContentDelta",
        "Cost",
        "CostComment",
        "Gateway",
        "Provider",
        "ReasoningDelta",
        "RequestRecord",
        "RetryNotice",
        "RetryPolicy",
        "StreamEvent",
        "StreamFinish",
        "ToolCall",
        "ToolCallDelta",
        "Usage",
        "UsageChunk",
        "request_tags",
    ),
    "alltoken_agent.media": (
        "ImageResult",
        "ImagesAPI",
        "JobDoneEvent",
        "JobDownloadEvent",
        "JobEvent",
        "JobSavedEvent",
        "JobStatusEvent",
        "JobSubmittedEvent",
        "MediaFile",
        "MediaJobRecord",
        "PollPolicy",
        "VideoResult",
        "VideosAPI",
        "VideoTask",
        "resume_job",
    ),
    "alltoken_agent.paths": ("AppDirs", "app_dirs"),
}
"""Module -> the names re-exported from it on first use."""
_SOURCE = {name: module for module, names in _LAZY.items() for name in names}

if not TYPE_CHECKING:  # a type checker would take __getattr__ to allow any name

    def __getattr__(name: str) -> Any:
        module = _SOURCE.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})

"""The public API: one sorted ``__all__``, every name importable, loaded on first use.

Like encode/httpx ``tests/test_exported_members.py``. It sits with the CLI tests
because the lazy loading it pins is there for the CLI's start-up time; it belongs in
``tests/test_exported_members.py`` by the layout rule.
"""

from __future__ import annotations

import importlib

import alltoken_agent

EXPORTED = [
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
    "Media",
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
    "text",
    "tool",
    "web_search",
]


def test_all_is_pinned_and_sorted() -> None:
    assert alltoken_agent.__all__ == EXPORTED
    assert sorted(EXPORTED) == EXPORTED


def test_every_exported_name_resolves_to_the_object_its_module_defines() -> None:
    for name in EXPORTED:
        value = getattr(alltoken_agent, name)
        source = alltoken_agent._SOURCE.get(name)
        if source is not None:
            assert getattr(importlib.import_module(source), name) is value, name
    assert set(alltoken_agent._SOURCE) <= set(EXPORTED)
    assert set(dir(alltoken_agent)) >= set(EXPORTED)


def test_star_import_and_from_import_work() -> None:
    namespace: dict[str, object] = {}
    exec("from alltoken_agent import *", namespace)
    assert set(EXPORTED) - {"__version__"} <= set(namespace)
    exec("from alltoken_agent import Agent, Gateway, errors, load_config", namespace)
    assert namespace["Gateway"] is alltoken_agent.Gateway
    assert namespace["errors"] is importlib.import_module("alltoken_agent.errors")


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        alltoken_agent.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")

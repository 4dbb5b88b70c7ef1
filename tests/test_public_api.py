"""The public API: each name exported once, the root's under ``alltoken_agent``.

Like encode/httpx ``tests/test_exported_members.py``: the root's sorted ``__all__`` is
pinned, every listed name imports, and no name is public in two packages' ``__all__``
(docs/architecture.md, "The public API"). The root's classes and functions say
``alltoken_agent`` as their module, and still pickle, resolve their type hints and
build pydantic schemas.
"""

from __future__ import annotations

import dataclasses
import importlib
import pickle
import pickletools
import pkgutil
import subprocess
import sys
import types
import typing
from decimal import Decimal
from pathlib import Path

import pydantic
import pytest

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

NOT_RENAMED = {
    "AgentEvent": types.UnionType,  # unions of event classes: an alias, not a class
    "JobEvent": types.UnionType,
    "StreamEvent": types.UnionType,
    "calculate": alltoken_agent.Tool,  # ready-made tools: instances of Tool
    "get_current_time": alltoken_agent.Tool,
    "web_search": alltoken_agent.Tool,
    "__version__": str,
}
"""Root exports that have no ``__module__`` of their own to rewrite, and their type."""

SAME_NAME_ELSEWHERE = {"create_app": ("alltoken_agent.server", "alltoken_agent.simulator")}
"""The one name two packages list: each builds its own app, which are different objects."""


def packages() -> dict[str, types.ModuleType]:
    """Every package of alltoken_agent (the optional front ends are installed in tests)."""
    found = {"alltoken_agent": alltoken_agent}
    for info in pkgutil.walk_packages(alltoken_agent.__path__, "alltoken_agent."):
        if info.ispkg:
            found[info.name] = importlib.import_module(info.name)
    return found


def test_the_root_all_is_pinned_and_sorted() -> None:
    assert alltoken_agent.__all__ == EXPORTED
    assert sorted(EXPORTED) == EXPORTED


def test_each_root_export_names_alltoken_agent_as_its_module() -> None:
    for name in EXPORTED:
        value = getattr(alltoken_agent, name)
        if name in NOT_RENAMED:
            assert isinstance(value, NOT_RENAMED[name]), name
        else:
            assert isinstance(value, (type, types.FunctionType)), name
            assert value.__module__ == "alltoken_agent", name
    assert repr(alltoken_agent.Agent) == "<class 'alltoken_agent.Agent'>"


def test_the_rewrite_holds_when_the_subpackage_is_imported_first() -> None:
    probe = (
        "from alltoken_agent.gateway.accounting import Usage\n"
        "from alltoken_agent import Usage as U, RateLimitError\n"
        "assert U is Usage\n"
        "print(Usage.__module__, RateLimitError.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["alltoken_agent", "alltoken_agent"]


def test_no_name_is_public_in_two_packages() -> None:
    homes: dict[str, list[str]] = {}
    for package, module in packages().items():
        for name in getattr(module, "__all__", ()):
            homes.setdefault(name, []).append(package)
    twice = {name: tuple(where) for name, where in homes.items() if len(where) > 1}
    assert twice == SAME_NAME_ELSEWHERE
    server, simulator = (importlib.import_module(p) for p in SAME_NAME_ELSEWHERE["create_app"])
    assert server.create_app is not simulator.create_app


def test_every_all_entry_imports() -> None:
    for package, module in packages().items():
        listed = list(getattr(module, "__all__", ()))
        assert len(listed) == len(set(listed)), package
        for name in listed:
            assert getattr(module, name, None) is not None, f"{package}.{name}"
        namespace: dict[str, object] = {}
        exec(f"from {package} import *", namespace)
        assert set(listed) - {"__version__"} <= set(namespace), package


def test_the_lazy_table_agrees_with_what_the_modules_define() -> None:
    for name, source in alltoken_agent._SOURCE.items():
        assert getattr(importlib.import_module(source), name) is getattr(alltoken_agent, name)
    assert set(alltoken_agent._SOURCE) <= set(EXPORTED)
    assert set(dir(alltoken_agent)) >= set(EXPORTED)
    namespace: dict[str, object] = {}
    exec("from alltoken_agent import Agent, Gateway, errors, load_config", namespace)
    assert namespace["Gateway"] is alltoken_agent.Gateway
    assert namespace["errors"] is importlib.import_module("alltoken_agent.errors")


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        alltoken_agent.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_root_values_still_pickle() -> None:
    values = [
        alltoken_agent.Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7),
        alltoken_agent.MediaFile(Path("out/fox.png"), "image/png", 12),
        alltoken_agent.ToolCallEvent(tool_name="calc", arguments={"x": 1}, call_id="c1"),
        alltoken_agent.PollPolicy(interval=1.0),
        alltoken_agent.RateLimitError("slow down", status=429, retry_after=2.0),
        alltoken_agent.UserError("bad input"),
    ]
    for value in values:
        data = pickle.dumps(value)
        strings = {arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str)}
        assert "alltoken_agent" in strings  # the class is found through the root
        assert not any(s.startswith("alltoken_agent.") for s in strings), strings
        again = pickle.loads(data)
        assert type(again) is type(value)
        if not isinstance(value, Exception):
            assert again == value
    error = pickle.loads(pickle.dumps(values[4]))
    assert (error.status, error.retry_after, str(error)) == (429, 2.0, str(values[4]))


def test_type_hints_and_pydantic_schemas_still_resolve() -> None:
    classes = [getattr(alltoken_agent, name) for name in EXPORTED if name not in NOT_RENAMED]
    checked = 0
    for cls in classes:
        if not isinstance(cls, type) or cls is alltoken_agent.Gateway:
            continue  # Gateway's hints name a type imported only for type checkers
        hints = typing.get_type_hints(cls)
        assert all(not isinstance(hint, str) for hint in hints.values()), cls
        checked += 1
    assert checked > 80
    assert typing.get_type_hints(alltoken_agent.Cost)["amount"] is Decimal
    schema = pydantic.TypeAdapter(alltoken_agent.ImageResult).json_schema()
    assert "files" in schema["properties"]
    refused = set()
    for cls in classes:
        if dataclasses.is_dataclass(cls):
            try:
                pydantic.TypeAdapter(cls).json_schema()
            except pydantic.PydanticUserError:  # pragma: no cover - the failure's message
                refused.add(cls.__name__)
    # Each holds a field pydantic has no schema for (a callable, an exception, an agent),
    # renamed or not.
    assert refused == {"ErrorEvent", "RetryNotice", "ToolContext"}


def test_config_still_validates_and_subclasses() -> None:
    class MyConfig(alltoken_agent.Config):
        team: str = "core"

    config = MyConfig.model_validate({"team": "media"})
    assert config.team == "media"
    assert set(alltoken_agent.Config.model_fields) <= set(MyConfig.model_fields)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.get_overloads is 3.11+")
def test_overloads_stay_listed() -> None:
    overloads = typing.get_overloads(alltoken_agent.tool)  # type: ignore[attr-defined,unused-ignore]
    assert len(overloads) == 2
    assert {stub.__module__ for stub in overloads} == {"alltoken_agent"}

"""Tracing fixtures: a private TracerProvider per test, exporting into memory.

Nothing touches the global provider, so no test sees another's spans.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from alltoken_agent import Gateway
from alltoken_agent.tracing import CONTENT_ENV
from tests.gateway.helpers import gateway_for


@pytest.fixture(autouse=True)
def no_content_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTENT_ENV, raising=False)


@pytest.fixture
def exporter() -> Any:
    memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    return memory.InMemorySpanExporter()


@pytest.fixture
def provider(exporter: Any) -> Iterator[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


@pytest.fixture
def traced(provider: Any, caplog: pytest.LogCaptureFixture) -> Iterator[Callable[..., Any]]:
    """``traced(agent, **options)``: instrument on this test's provider; undone afterwards.

    Hooks and observers that raise are reported, never fatal, so a broken handler
    would go unnoticed: afterwards, this fails the test if any of ours raised.
    """
    from alltoken_agent.tracing import instrument

    made: list[Any] = []
    hook_errors: list[BaseException] = []

    def make(agent: Any, **options: Any) -> Any:
        options.setdefault("tracer_provider", provider)
        instrumentation = instrument(agent, **options)
        made.append(instrumentation)

        def on_error(error: BaseException, source: str) -> None:
            if source == "hook":
                hook_errors.append(error)

        agent.on("error", on_error)
        return instrumentation

    yield make
    for instrumentation in made:
        instrumentation.uninstrument()
    assert hook_errors == []
    assert not [r for r in caplog.records if "observer" in r.getMessage()]


@pytest.fixture
async def gateway(sim: Any) -> AsyncIterator[Gateway]:
    async with gateway_for(sim) as opened:
        yield opened

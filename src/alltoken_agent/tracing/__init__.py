"""Optional OpenTelemetry tracing of agents (the ``otel`` extra).

```python
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from alltoken_agent import Agent, calculate
from alltoken_agent.tracing import instrument

provider = TracerProvider()  # or leave it out to use the global provider
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
agent = Agent(tools=[calculate])
with instrument(agent, tracer_provider=provider, agent_name="calculator"):
    print(agent.run_sync("What is 2+3?").output)
agent.close_sync()
```

Each run gives a span tree following the OpenTelemetry GenAI semantic conventions
(open-telemetry/semantic-conventions-genai, development status)::

    invoke_agent [calculator]      INTERNAL  the run: user message to answer or error
    ├── chat {model}               CLIENT    one per model request, timed by the gateway
    ├── execute_tool {tool}        INTERNAL  one per tool call
    └── chat {model}

Model-request spans carry ``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.request.stream``,
``gen_ai.response.time_to_first_chunk``, ``gen_ai.usage.input_tokens`` /
``output_tokens`` (and ``cache_read.input_tokens``, ``reasoning.output_tokens``
when reported), ``gen_ai.response.finish_reasons``, ``server.address`` /
``server.port``, ``http.response.status_code`` and ``error.type`` (the gateway's
error code) on failures. Ours, under ``alltoken.``: ``alltoken.cost_usd``,
``alltoken.cost_source``, ``alltoken.request_id`` (the gateway request id),
``alltoken.attempts``, ``alltoken.step``; ``gen_ai.conversation.compacted`` when
the agent trimmed the history to fit the context. Run spans add
``alltoken.request_count`` and the run's token and cost totals; tool spans add
``gen_ai.tool.call.id``, ``gen_ai.tool.type``, ``gen_ai.tool.description`` and, for
calls that needed approval, ``alltoken.tool.approval.decision`` (and an event when
it came). ``gen_ai.response.id`` is not set: the gateway's request records do not
carry the completion id. ``send_sync()`` emits no stream events, so its request
spans sit under the run without ``alltoken.step``, finish reasons or captured
output messages.

Error types (``error.type``): the gateway's error code on request spans
(``invalid_api_key``, ``rate_limited``, ...); the error's ``code`` (or class name)
on run spans; ``tool_error`` and ``denied`` on tool spans; ``cancelled`` on a run
that stopped without an answer or an error (a cancelled task, a stream closed
early), closed by the run's ``thinking:end``, or when the agent's next run starts
for a stream that was dropped without being closed.

Prompts, answers, tool arguments and tool results are left out unless
``capture_content=True`` or ``ALLTOKEN_AGENT_TRACE_CONTENT=1``; then they go on the
spans as the conventions' opt-in attributes (``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.system_instructions``,
``gen_ai.tool.call.arguments``, ``gen_ai.tool.call.result``), JSON strings with
the gateway's key masked. The key itself is never read.

Importing this module does not import OpenTelemetry; ``instrument()`` does, and
without the extra it says how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from alltoken_agent.agent import Agent
    from alltoken_agent.tracing._spans import Instrumentation

CONTENT_ENV = "ALLTOKEN_AGENT_TRACE_CONTENT"
"""Set to 1 (true, yes, on) to capture content when ``instrument()`` is not told."""

INSTALL_HINT = "pip install 'alltoken-agent[otel]'"

_TRUE = frozenset({"1", "true", "yes", "on"})


def instrument(
    agent: Agent[Any],
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool | None = None,
    agent_name: str | None = None,
) -> Instrumentation:
    """Trace ``agent``'s runs, model requests and tool calls until ``uninstrument()``.

    Works through the agent's public hooks and its gateway's request observer;
    the returned ``Instrumentation`` is also a context manager.

    Args:
        agent: The agent to trace.
        tracer_provider: Where spans go; None uses the global provider
            (``opentelemetry.trace.set_tracer_provider``).
        capture_content: Put prompts, answers and tool arguments/results on the
            spans. None (the default) reads ``ALLTOKEN_AGENT_TRACE_CONTENT``.
        agent_name: A human-readable, low-cardinality name for the agent: the
            run span becomes ``invoke_agent {agent_name}`` with ``gen_ai.agent.name``
            (the agent's random ``id`` is always there as ``gen_ai.agent.id``).

    Raises:
        ModuleNotFoundError: OpenTelemetry is not installed (the ``otel`` extra).
        UserError: The agent is instrumented already.
    """
    try:
        from alltoken_agent.tracing._spans import Instrumentation, tracer_for
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("opentelemetry"):
            raise
        raise ModuleNotFoundError(
            f"tracing needs OpenTelemetry, which is not installed: {INSTALL_HINT}",
            name=error.name,
        ) from error
    from alltoken_agent._version import __version__

    if capture_content is None:
        capture_content = content_from_env()
    tracer = tracer_for(tracer_provider, __version__)
    return Instrumentation(
        agent, tracer, capture_content=capture_content, agent_name=agent_name
    ).install()


def content_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``ALLTOKEN_AGENT_TRACE_CONTENT`` asks for content capture."""
    value = (os.environ if environ is None else environ).get(CONTENT_ENV, "")
    return value.strip().lower() in _TRUE


def __getattr__(name: str) -> Any:
    # ``Instrumentation`` lives with the OpenTelemetry imports; load it on first use.
    if name == "Instrumentation":
        from alltoken_agent.tracing._spans import Instrumentation

        return Instrumentation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CONTENT_ENV", "Instrumentation", "instrument"]

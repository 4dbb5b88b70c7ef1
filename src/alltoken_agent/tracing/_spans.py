"""Spans for one agent's runs, model requests and tool calls (imports OpenTelemetry).

Built only from public hooks: ``agent.on`` handlers for the run and its tools, and
a gateway observer for model requests. A ``RequestRecord`` arrives after its
request ended, so its span is made retroactively with the record's start and
end times. Records carry no finish reason, so the span of a successful request
made inside a step stays open until that step's ``stream:end`` (and, for
captured content, its ``tool:call`` events) have been seen; it still ends at the
recorded time.

Every handler here runs in the event loop of the run it handles, and each
``Instrumentation`` holds the state of exactly one agent, so concurrent runs of
different agents never share state.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from alltoken_agent.errors import UserError
from alltoken_agent.gateway.records import RequestRecord, current_tags
from alltoken_agent.tracing import _content as content
from alltoken_agent.tracing import _names as attr
from alltoken_agent.tracing._requests import (
    request_attributes,
    request_times,
    server_attributes,
    set_error,
)
from alltoken_agent.tracing._state import PendingRequest, RunState, fitted

if TYPE_CHECKING:
    from alltoken_agent.agent import Agent
    from alltoken_agent.agent.events import EventName
    from alltoken_agent.gateway import Gateway

_live: weakref.WeakValueDictionary[str, Instrumentation] = weakref.WeakValueDictionary()
"""Instrumented agents by id: guards against instrumenting twice, and lets an agent
run from inside another agent's tool find its parent span. Weak, so it never keeps
an agent alive; the agent's own hooks keep its entry while it is instrumented."""


class Instrumentation:
    """Tracing of one agent, live until ``uninstrument()`` (or the end of a ``with`` block).

    Made by ``alltoken_agent.tracing.instrument``.
    """

    def __init__(
        self,
        agent: Agent[Any],
        tracer: Tracer,
        *,
        capture_content: bool,
        agent_name: str | None,
    ) -> None:
        self.agent = agent
        self.capture_content = capture_content
        """Whether prompts, answers, tool arguments and results go on the spans."""
        self.agent_name = agent_name
        self._tracer = tracer
        self._run: RunState | None = None
        self._gateway: Gateway | None = None
        self._server: dict[str, AttributeValue] = {}
        self._handlers: dict[EventName, Callable[..., None]] = {
            "message:user": self._on_user,
            "stream:start": self._on_stream_start,
            "stream:end": self._on_stream_end,
            "tool:call": self._on_tool_call,
            "tool:approval": self._on_tool_approval,
            "tool:result": self._on_tool_result,
            "context:trimmed": self._on_context_trimmed,
            "message:assistant": self._on_assistant,
            "error": self._on_error,
            "thinking:end": self._on_run_end,
        }
        self._active = False

    def install(self) -> Instrumentation:
        """Register the hooks (the gateway observer follows on the first run).

        Raises:
            UserError: The agent is instrumented already.
        """
        if self.agent.id in _live:
            raise UserError(
                f"agent {self.agent.id} is instrumented already; "
                "call uninstrument() on the first Instrumentation before making another"
            )
        for name, handler in self._handlers.items():
            self.agent.on(name, handler)
        _live[self.agent.id] = self
        self._active = True
        return self

    @property
    def active(self) -> bool:
        """Whether spans are still being made."""
        return self._active

    def uninstrument(self) -> None:
        """Stop making spans; a run still open ends now. Calling it twice is harmless."""
        if not self._active:
            return
        self._active = False
        for name, handler in self._handlers.items():
            self.agent.off(name, handler)
        if self._gateway is not None:
            self._gateway.remove_observer(self._observe)
            self._gateway = None
        if _live.get(self.agent.id) is self:
            del _live[self.agent.id]
        if self._run is not None:
            self._end_run()

    def __enter__(self) -> Instrumentation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstrument()

    def __repr__(self) -> str:
        state = "active" if self._active else "stopped"
        return f"Instrumentation(agent={self.agent.id!r}, {state})"

    # -- the run --------------------------------------------------------------

    def _on_user(self, message: dict[str, Any]) -> None:
        if self._run is not None:
            # The last run never reached its answer, error or thinking:end: its
            # stream was dropped part-way without being closed.
            self._end_run("cancelled", "the run stopped before a final answer or an error")
        gateway = self.agent.gateway
        self._bind(gateway)
        attributes: dict[str, AttributeValue] = {
            attr.OPERATION_NAME: attr.OP_INVOKE_AGENT,
            attr.PROVIDER_NAME: gateway.provider.name,
            attr.AGENT_ID: self.agent.id,
            attr.REQUEST_MODEL: self.agent.model,
            **self._server,
        }
        name = attr.OP_INVOKE_AGENT
        if self.agent_name:
            attributes[attr.AGENT_NAME] = self.agent_name
            name = f"{name} {self.agent_name}"
        if self.capture_content:
            history = self.agent.get_messages()
            if history and history[0].get("role") == "system":
                instructions = content.system_instructions(str(history[0].get("content") or ""))
                attributes[attr.SYSTEM_INSTRUCTIONS] = self._json(instructions)
            attributes[attr.INPUT_MESSAGES] = self._json(content.input_messages([message]))
        span = self._tracer.start_span(
            name,
            context=_parent_context(self.agent.id),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )
        self._run = RunState(span=span, context=trace.set_span_in_context(span))

    def _on_assistant(self, message: dict[str, Any]) -> None:
        run = self._run
        if run is None:
            return
        self._flush(run)
        if self.capture_content:
            reply = content.output_message(message.get("content") or "", (), run.finish_reason)
            run.span.set_attribute(attr.OUTPUT_MESSAGES, self._json([reply]))
        self._end_run()

    def _on_error(self, error: BaseException, source: str = "run") -> None:
        if source != "run" or self._run is None:
            return  # a failing hook is reported, and the run goes on
        self._run.span.record_exception(error)
        code = getattr(error, "code", None)
        error_type = code if isinstance(code, str) and code else type(error).__name__
        self._end_run(error_type, f"{type(error).__name__}: {error}")

    def _on_run_end(self, outcome: str) -> None:
        # The run's last event, cancellation included; an answer or an error has
        # normally ended the span already.
        if self._run is not None:
            if outcome == "cancelled":
                self._end_run("cancelled", "the run stopped before a final answer or an error")
            else:
                self._end_run()

    def _end_run(self, error_type: str | None = None, description: str | None = None) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        self._flush(run)
        for span in run.tools.values():  # tools still running when the run stopped
            if error_type is not None:
                set_error(span, error_type, description)
            span.end()
        if run.requests:
            run.span.set_attributes(
                {
                    attr.REQUEST_COUNT: run.requests,
                    attr.USAGE_INPUT_TOKENS: run.input_tokens,
                    attr.USAGE_OUTPUT_TOKENS: run.output_tokens,
                }
            )
        if run.cost is not None:
            run.span.set_attribute(attr.COST_USD, float(run.cost))
        if error_type is not None:
            set_error(run.span, error_type, description)
        run.span.end()

    # -- model requests -------------------------------------------------------

    def _on_stream_start(self, model: str, step: int) -> None:
        run = self._run
        if run is None:
            return
        self._flush(run)
        run.in_step, run.step, run.step_model = True, step, model
        run.step_trimmed, dropped, run.trimmed = run.trimmed > 0, run.trimmed, 0
        if self.capture_content:
            sent = fitted(self.agent.get_messages(), dropped)
            run.step_input = self._json(content.input_messages(sent))

    def _on_context_trimmed(self, model: str, dropped: int, *_: Any) -> None:
        if self._run is not None:
            self._run.trimmed = dropped

    def _on_stream_end(self, text: str, finish_reason: str | None) -> None:
        run = self._run
        if run is None:
            return
        run.in_step = False
        run.finish_reason = finish_reason
        if run.pending is not None:
            run.pending.text, run.pending.finish_reason = text, finish_reason

    def _observe(self, record: RequestRecord) -> None:
        """The gateway observer: one span per request this agent made."""
        if not self._active or record.tags.get("agent") != self.agent.id:
            return
        run = self._run
        in_step = run is not None and run.in_step
        if run is not None:
            self._flush(run)
        model = (run.step_model if run is not None and in_step else None) or record.model
        operation = attr.OP_CHAT if record.kind == "chat" else attr.OP_GENERATE_CONTENT
        attributes = {**request_attributes(record, operation, model), **self._server}
        if run is not None and in_step:
            attributes[attr.STEP] = run.step
            if run.step_trimmed:
                attributes[attr.CONVERSATION_COMPACTED] = True
            if run.step_input is not None:
                attributes[attr.INPUT_MESSAGES] = run.step_input
        elif run is not None:
            run.trimmed = 0  # the request failed before its step began
        if run is None:
            parent = None
        else:
            parent = run.context if in_step else run.child_context()
        start, end = request_times(record)
        span = self._tracer.start_span(
            f"{operation} {model}" if model else operation,
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=start,
        )
        ok = record.outcome == "ok"
        if run is not None:
            run.count(record)
            if ok and in_step:
                run.pending = PendingRequest(span=span, end_ns=end)
                return
            if in_step:
                run.in_step = False
        if not ok:
            if record.kind == "chat":
                span.set_attribute(attr.RESPONSE_FINISH_REASONS, ["error"])
            status = f"HTTP {record.status}: " if record.status else ""
            set_error(span, record.outcome, f"{status}{record.outcome}")
        span.end(end_time=end)

    def _flush(self, run: RunState) -> None:
        """End the request span waiting for its step's finish reason, if any."""
        pending, run.pending = run.pending, None
        if pending is None:
            return
        if pending.finish_reason:
            pending.span.set_attribute(attr.RESPONSE_FINISH_REASONS, [pending.finish_reason])
        if self.capture_content and (pending.text is not None or pending.tool_calls):
            reply = content.output_message(
                pending.text or "", pending.tool_calls, pending.finish_reason
            )
            pending.span.set_attribute(attr.OUTPUT_MESSAGES, self._json([reply]))
        pending.span.end(end_time=pending.end_ns)

    # -- tools ----------------------------------------------------------------

    def _on_tool_call(self, name: str, arguments: Any, call_id: str) -> None:
        run = self._run
        if run is None:
            return
        if self.capture_content and run.pending is not None:
            run.pending.tool_calls.append(content.tool_call_part(call_id, name, arguments))
        attributes: dict[str, AttributeValue] = {
            attr.OPERATION_NAME: attr.OP_EXECUTE_TOOL,
            attr.TOOL_NAME: name,
            attr.TOOL_CALL_ID: call_id,
            attr.TOOL_TYPE: "function",
        }
        description = next((t.description for t in self.agent.tools if t.name == name), "")
        if description:
            attributes[attr.TOOL_DESCRIPTION] = description
        if self.capture_content:
            attributes[attr.TOOL_CALL_ARGUMENTS] = self._json(arguments)
        # The loop emits every call of a step before running them, and every result
        # after all have finished: the span covers the step's tool phase.
        run.tools[call_id] = self._tracer.start_span(
            f"{attr.OP_EXECUTE_TOOL} {name}",
            context=run.context,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )

    def _on_tool_approval(
        self, name: str, arguments: Any, call_id: str, decision: str, reason: str | None = None
    ) -> None:
        run = self._run
        span = run.tools.get(call_id) if run is not None else None
        if run is None or span is None:
            return
        # An event, so the wait for the decision shows on the span's timeline.
        span.add_event(attr.APPROVAL_EVENT, {attr.APPROVAL_DECISION: decision})
        span.set_attribute(attr.APPROVAL_DECISION, decision)
        if decision == "deny":
            run.denied.add(call_id)
        elif decision == "edit" and self.capture_content:
            span.set_attribute(attr.TOOL_CALL_ARGUMENTS, self._json(arguments))

    def _on_tool_result(self, name: str, result: str, call_id: str, is_error: bool) -> None:
        run = self._run
        if run is None:
            return
        self._flush(run)
        span = run.tools.pop(call_id, None)
        if span is None:
            return
        if call_id in run.denied:
            run.denied.discard(call_id)
            set_error(span, "denied", "the call was not approved")
        elif is_error:
            detail = self._redact(result) if self.capture_content else "the tool failed"
            set_error(span, "tool_error", detail)
        elif self.capture_content:
            span.set_attribute(attr.TOOL_CALL_RESULT, self._redact(result))
        span.end()

    # -- helpers --------------------------------------------------------------

    def _bind(self, gateway: Gateway) -> None:
        """Observe the agent's gateway (a new one after ``close_sync()``, too)."""
        if gateway is self._gateway:
            return
        if self._gateway is not None:
            self._gateway.remove_observer(self._observe)
        gateway.add_observer(self._observe)
        self._gateway = gateway
        self._server = server_attributes(gateway.base_url)

    def _redact(self, text: str) -> str:
        return self._gateway.redact(text) if self._gateway is not None else text

    def _json(self, value: Any) -> str:
        return self._redact(content.to_json(value))


def _parent_context(agent_id: str) -> Context | None:
    """The parent of a run: the calling agent's tool when run from inside one.

    Otherwise None, which means the current context: a span the application made
    current around the call, or a new trace.
    """
    outer = _live.get(current_tags().get("agent", ""))
    if outer is None or outer.agent.id == agent_id or outer._run is None:
        return None
    return outer._run.child_context()


def tracer_for(provider: trace.TracerProvider | None, version: str) -> Tracer:
    """Our tracer from ``provider``, or from the global provider when None."""
    return trace.get_tracer("alltoken_agent", version, tracer_provider=provider)

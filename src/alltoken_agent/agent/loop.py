"""One turn of the agent: model requests, tool calls, fallbacks, structured output.

History stays consistent under cancellation: a step's assistant message and
its tool results are committed together, only once every result is in, so a
cancelled turn never leaves a tool call without its result.

The turn is one ``thinking:start``/``thinking:end`` pair whatever happens (the
end goes out from ``finally``: UIs use the pair as a busy indicator), and each
reasoning block of a reply is one ``reasoning:start``/``reasoning:end`` pair.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from alltoken_agent.agent._model_requests import (
    ModelRequests,
    _Step,
    _tuple_new,
    reasoning_delta,
)
from alltoken_agent.agent._turn_settings import Readers as Readers
from alltoken_agent.agent._turn_settings import TurnSettings as TurnSettings
from alltoken_agent.agent.events import (
    AgentEvent,
    ErrorEvent,
    MessageAssistantEvent,
    MessageUserEvent,
    ReasoningStartEvent,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    ThinkingEndEvent,
    ThinkingStartEvent,
)
from alltoken_agent.agent.output import OutputSpec, assistant_message
from alltoken_agent.agent.result import (
    RunResult,
    StopReason,
    ToolCallRecord,
    reply_totals,
)
from alltoken_agent.agent.tool_step import ToolStep, parse_calls
from alltoken_agent.errors import (
    GatewayError,
    MaxStepsExceededError,
    OutputValidationError,
)
from alltoken_agent.gateway import (
    ChatResult,
    ContentDelta,
    ReasoningDelta,
    ToolCallDelta,
)

_new = object.__new__


@dataclass(init=False, eq=False, repr=False)  # nothing generated (never compared or printed)
class Turn(ModelRequests):
    """Runs one user turn; ``events()`` yields as it goes, ``result`` holds the outcome."""

    settings: TurnSettings
    history: list[dict[str, Any]]
    """The agent's history, appended to in place at commit points."""
    user_message: dict[str, Any]
    result: RunResult[Any] | None = None
    _model_index: int = 0
    _replies: list[ChatResult] = field(default_factory=list)
    """Every reply of the turn: its usage, cost and request id are summed at the end."""
    _calls: list[ToolCallRecord] = field(default_factory=list)
    _start: int = 0
    _steps: int = 0
    _output_retried: bool = False
    _fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    _schema_tokens: dict[str, int] = field(default_factory=dict)
    _echo: dict[str, bool] = field(default_factory=dict)

    def __init__(
        self, settings: TurnSettings, history: list[dict[str, Any]], user_message: dict[str, Any]
    ) -> None:
        # Written out (the generated one takes every field, and tests a sentinel for each
        # default factory): a turn is made for every send.
        self.settings = settings
        self.history = history
        self.user_message = user_message
        self.result = None
        self._model_index = 0
        self._replies = []
        self._calls = []
        self._start = 0
        self._steps = 0
        self._output_retried = False
        self._fields = {}
        self._schema_tokens = {}
        self._echo = {}

    async def events(self) -> AsyncIterator[AgentEvent]:
        """Run the turn, yielding every event (each handed to the hooks first).

        One generator for the whole turn, with model requests inlined below it: every
        frame between the task and the socket is resumed on each network read.
        """
        s = self.settings
        emit = s.hooks.emit
        hooked = s.hooks.listening  # an event nobody handles skips the call to emit
        wants = s.wants
        # The turn's first and last events are built only for someone: a send() that
        # nobody listens to builds none of them.
        name: str = MessageUserEvent.name
        if hooked(name) or wants(name):
            first: AgentEvent = MessageUserEvent(content=self.user_message["content"])
            if hooked(name):
                await emit(first)
            if wants(name):
                yield first
        name = ThinkingStartEvent.name
        start = ThinkingStartEvent() if hooked(name) or wants(name) else None
        if start is not None and hooked(name):
            await emit(start)
        ended = False  # whether the turn's end went out (else `finally` tells the hooks)
        try:
            if start is not None and wants(name):
                yield start
            prelude = s.prelude
            if prelude is not None:
                # Most turns' preludes need no wait: then no coroutine is made for one.
                told = prelude.now(s)
                if told is None:
                    told = await prelude(s, self.user_message["content"])
                for event in told:
                    await emit(event)
                    yield event
            # The step loop runs here, not in a generator of its own: every chunk's
            # event crosses each generator between the request and the reader.
            self._start = len(self.history)
            self.history.append(self.user_message)
            step = 0
            models = s.models
            while self.result is None:
                step += 1
                failures: list[tuple[str, GatewayError]] = []
                reply: _Step | None = None
                while reply is None:  # one model request, down the fallback chain
                    model = models[self._model_index]
                    prepared = self._prepare_now(model)  # None: it has to wait
                    messages, ahead = (
                        prepared if prepared is not None else await self._prepare(model)
                    )
                    for event in ahead:
                        if hooked(event.name):  # most events have no handler: no call
                            await emit(event)
                        yield event
                    # The reply's text and reasoning so far, as the pieces that came: a
                    # delta event joins them only if its `accumulated` is read (adding to
                    # one string per chunk copies it all each time: quadratic).
                    text: list[str] = []
                    reasoning: list[str] = []
                    block = -1  # where the open reasoning block starts in it; -1: none
                    try:
                        if not s.stream:
                            if wants("stream:start"):
                                event = StreamStartEvent(model=model, step=step)
                                if hooked(event.name):
                                    await emit(event)
                                yield event
                            reply, replayed = await self._chat(model, messages)
                            for event in replayed:
                                if hooked(event.name):
                                    await emit(event)
                                yield event
                            break
                        # The reply's chunks are read here, in the generator the reader
                        # iterates: a chunk's event crosses no other generator.
                        stream = self._open(model, messages)
                        deltas = s.deltas
                        # open() and aclose() as `async with stream` calls them, without
                        # its two coroutines (and their frames resumed on every wait).
                        await stream.open()
                        try:
                            if wants("stream:start"):
                                event = StreamStartEvent(model=model, step=step)
                                if hooked(event.name):
                                    await emit(event)
                                yield event
                            # A read's chunks come as one list: one hand-off per read.
                            async for batch in stream.batches():
                                if (
                                    not deltas
                                    and block < 0
                                    and not wants("reasoning:start")
                                    and not wants("reasoning:end")
                                ):
                                    # Nothing in it is anyone's event (the stream puts
                                    # the reply together): its chunks need no look.
                                    continue
                                for chunk in batch:
                                    if type(chunk) is ContentDelta:
                                        piece = chunk.text
                                        if block >= 0:
                                            for event in self._block_end(reasoning, block):
                                                if hooked(event.name):
                                                    await emit(event)
                                                yield event
                                            block = -1
                                        text.append(piece)
                                        if deltas:
                                            # stream_delta(piece, text) inlined: once a chunk.
                                            event = _new(StreamDeltaEvent)
                                            fields_ = event.__dict__
                                            fields_["delta"] = piece
                                            fields_["_pieces"] = text
                                            fields_["_upto"] = len(text)
                                            if hooked("stream:delta"):
                                                await emit(event)
                                            yield event
                                    elif type(chunk) is ReasoningDelta:
                                        if block < 0:
                                            block = len(reasoning)
                                            if wants("reasoning:start"):
                                                event = ReasoningStartEvent()
                                                if hooked(event.name):
                                                    await emit(event)
                                                yield event
                                        reasoning.append(chunk.text)
                                        if deltas:
                                            event = reasoning_delta(chunk.text, reasoning)
                                            if hooked("reasoning:delta"):
                                                await emit(event)
                                            yield event
                                    elif block >= 0 and type(chunk) is ToolCallDelta:
                                        for event in self._block_end(reasoning, block):
                                            if hooked(event.name):
                                                await emit(event)
                                            yield event
                                        block = -1
                        finally:
                            await stream.aclose()
                        result = stream.result
                        if block >= 0 or wants("stream:end"):  # else nothing to tell
                            ending = self._block_end(reasoning, block)
                            block = -1
                            if wants("stream:end"):
                                ending.append(
                                    StreamEndEvent(
                                        text=result.text, finish_reason=result.finish_reason
                                    )
                                )
                            for event in ending:
                                if hooked(event.name):
                                    await emit(event)
                                yield event
                        reply = _tuple_new(_Step, (result, model))  # _Step(result, model)
                    except GatewayError as error:
                        # A reasoning block open when the request failed is over too: a
                        # fallback's reply, if any, starts its own.
                        for event in self._block_end(reasoning, block):
                            if hooked(event.name):
                                await emit(event)
                            yield event
                        event = self._fall_back(model, error, failures)  # or raises
                        if hooked(event.name):
                            await emit(event)
                        yield event
                for event in self._account_events(reply):
                    if hooked(event.name):
                        await emit(event)
                    yield event
                # Read once here and handed to the tools; None (a call is broken): the
                # step is asked again unstreamed, and its calls are read in the tool step.
                calls = reply.result.tool_calls
                parsed = parse_calls(calls) if calls else []
                if s.stream and parsed is None:
                    reply = await self._whole_again(reply)
                    for event in self._account_events(reply):
                        if hooked(event.name):
                            await emit(event)
                        yield event
                done = reply
                if done.result.tool_calls:
                    # The step's phases yield here: a generator of its own would cost
                    # every step one more to start, resume and close.
                    tools = ToolStep(s, step, done.result, done.model, parsed)
                    if wants("tool:call"):  # else announced() has nothing to say
                        for event in tools.announced():
                            if hooked(event.name):
                                await emit(event)
                            yield event
                    for index in tools.needs_approval():
                        for event in await tools.decide(index):
                            if hooked(event.name):
                                await emit(event)
                            yield event
                    await tools.run()
                    for event in tools.commit(self.history, self._calls):
                        if hooked(event.name):
                            await emit(event)
                        yield event
                    if step >= s.max_steps:
                        self._check_steps_left(step, done)
                    continue
                for event in self._conclude(done):
                    if hooked(event.name):
                        await emit(event)
                    yield event
            ended = True
        except Exception as error:
            await emit(ErrorEvent(error=error))
            end = ThinkingEndEvent(outcome="error")
            ended = True
            await emit(end)
            if wants(end.name):
                yield end  # a stream() reader sees it, then the error
            raise
        finally:
            if not ended:
                # Cancelled, or the reader stopped early: yielding is no longer possible,
                # but the hooks still hear that the run is over.
                await emit(
                    ThinkingEndEvent(outcome="done" if self.result is not None else "cancelled")
                )
        name = ThinkingEndEvent.name
        if hooked(name) or wants(name):
            end = ThinkingEndEvent(outcome="done")
            if hooked(name):
                await emit(end)
            if wants(name):
                yield end

    def _check_steps_left(self, step: int, done: _Step) -> None:
        """After a tool step: raise when it was the last step allowed."""
        if step >= self.settings.max_steps:
            self.result = self._finish("", None, "max_steps", done.model)
            raise MaxStepsExceededError(
                f"the agent used all {self.settings.max_steps} steps (max_steps) without a "
                "final answer; raise max_steps or simplify the task",
                result=self.result,
            )

    def _conclude(self, done: _Step) -> list[AgentEvent]:
        """A reply without tool calls: the answer (sets ``result``), or a retry of the output.

        Returns the events to hand on; ``result`` stays None when the reply did not
        match the output type and the model is asked once more.
        """
        s = self.settings
        reply = done.result
        message = assistant_message(reply)
        output: Any = reply.text
        if s.output is not None:
            # Loaded already by the output type; a run without one never imports pydantic.
            from pydantic import ValidationError

            try:
                output = s.output.parse(reply.text)
            except ValidationError as error:
                if self._output_retried:
                    self.history.append(message)
                    raise OutputValidationError(
                        f"the reply did not match {s.output.name} after a retry: "
                        f"{error.error_count()} validation errors",
                        text=reply.text,
                    ) from None
                self._output_retried = True
                self.history.extend([message, OutputSpec.retry_message(error)])
                return []
        self.history.append(message)
        events: list[AgentEvent] = []
        if self.settings.wants("message:assistant"):
            events.append(MessageAssistantEvent(content=reply.text))
        reason: StopReason = "stop"
        if reply.finish_reason == "length":
            reason = "length"
        elif reply.finish_reason == "content_filter":
            reason = "content_filter"
        self.result = self._finish(reply.text, output, reason, done.model)
        return events

    # -- results ------------------------------------------------------------

    def _finish(self, text: str, output: Any, reason: StopReason, model: str) -> RunResult[Any]:
        usage, cost, request_ids = reply_totals(self._replies)
        return RunResult(
            text,
            output,
            reason,
            self._steps,
            model,
            list(map(dict, self.history[self._start :])),
            list(self._calls),
            usage,
            cost,
            request_ids,
            # Known by now: an offline gateway from the start, any other by its replies.
            self.settings.gateway.simulated,
        )

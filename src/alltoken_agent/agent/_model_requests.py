"""The model requests of a turn: what each sends, the fallback chain, and the accounting.

A base class of :class:`~alltoken_agent.agent.loop.Turn`, whose ``events()`` reads the
reply's chunks itself (every chunk's event crosses no other generator); everything
around a request that is not per chunk lives here, with the two pieces a request
needs from outside the turn: the budget check before it is sent (``BudgetGuard``) and
the per-chunk delta events built for the hot path (``stream_delta``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from alltoken_agent.agent.context import (
    ASSUMED_CONTEXT,
    Counts,
    fit_messages,
    request_tokens,
    schema_tokens,
)
from alltoken_agent.agent.events import (
    AgentEvent,
    BudgetWarningEvent,
    ContextTrimmedEvent,
    CostEvent,
    ModelFallbackEvent,
    NoticeEvent,
    ReasoningDeltaEvent,
    ReasoningEndEvent,
    StreamDeltaEvent,
    UsageEvent,
)
from alltoken_agent.agent.output import replay
from alltoken_agent.catalog.prices import PriceLookup
from alltoken_agent.errors import (
    AllModelsFailedError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    RateLimitError,
    UpstreamError,
)
from alltoken_agent.gateway import ChatResult, ChatStream
from alltoken_agent.ledger import Budget, estimate_request_cost

if TYPE_CHECKING:
    from alltoken_agent.agent._turn_settings import TurnSettings


def can_fall_back(error: GatewayError) -> bool:
    """Whether the next model of a chain may take over after ``error`` (retries spent).

    Never on 400/401/402/403: another model would fail the same way, or cost money
    the user has not got. A model the gateway cannot route (404) is worth skipping.
    """
    if isinstance(error, (UpstreamError, GatewayTimeoutError, GatewayConnectionError)):
        return True
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, NotFoundError) and error.code == "upstream_model_not_found"


class BudgetGuard:
    """Checks every budget before a request; warns once per budget per turn.

    A request whose estimate (prompt and tool schemas at the input price plus
    ``max_tokens`` at the output price) would cross a limit is not sent: ``Budget.check`` raises
    ``BudgetExceededError``. Without prices the estimate is 0, so only spend
    already made counts.
    """

    def __init__(self, budgets: Sequence[Budget], prices: PriceLookup | None) -> None:
        self._budgets = budgets
        self._prices = prices
        self._warned: set[str] = set()

    def check(
        self, model: str, messages: list[dict[str, Any]], fields: dict[str, Any]
    ) -> list[AgentEvent]:
        """Raise if a budget would be crossed; return warning events to emit."""
        if not self._budgets:
            return []
        price = self._prices(model) if self._prices is not None else None
        # Tool schemas are prompt tokens too, and a turn with many tools sends plenty.
        estimate = estimate_request_cost(
            price, request_tokens(messages, fields), fields.get("max_tokens")
        )
        events: list[AgentEvent] = []
        for budget in self._budgets:
            status = budget.check(estimate)
            if status.warn and status.label not in self._warned:
                self._warned.add(status.label)
                events.append(
                    BudgetWarningEvent(
                        label=status.label,
                        limit=status.limit,
                        spent=status.spent,
                        fraction_used=status.fraction_used,
                    )
                )
        return events


_new = object.__new__


def stream_delta(delta: str, pieces: list[str]) -> StreamDeltaEvent:
    """``StreamDeltaEvent(delta, accumulated="".join(pieces))``, built for the hot path.

    One is built per streamed chunk. A frozen dataclass's ``__init__`` sets each field
    through ``object.__setattr__``, and joining the text so far for every chunk copies
    it all each time (quadratic in the reply): most of what the agent would add per
    chunk. Here the event is built in one step and keeps ``pieces`` (the reply's chunks,
    appended to by the caller) with how many are its own; ``accumulated`` is joined the
    first time it is read. The object is the same otherwise: equal to, and printed,
    hashed and passed to hooks like, one built by its constructor.
    """
    event = _new(StreamDeltaEvent)
    fields_ = event.__dict__
    fields_["delta"] = delta
    fields_["_pieces"] = pieces
    fields_["_upto"] = len(pieces)
    return event


def reasoning_delta(delta: str, pieces: list[str]) -> ReasoningDeltaEvent:
    """``ReasoningDeltaEvent``, built as :func:`stream_delta` builds its event."""
    event = _new(ReasoningDeltaEvent)
    fields_ = event.__dict__
    fields_["delta"] = delta
    fields_["_pieces"] = pieces
    fields_["_upto"] = len(pieces)
    return event


class _Step(NamedTuple):
    """A reply and the model that gave it (a tuple: built with one C call per request)."""

    result: ChatResult
    model: str


_tuple_new = tuple.__new__


class ModelRequests:
    """The request side of a :class:`~alltoken_agent.agent.loop.Turn` (its fields below)."""

    settings: TurnSettings
    history: list[dict[str, Any]]
    _model_index: int
    _replies: list[ChatResult]
    _steps: int
    _fields: dict[str, dict[str, Any]]
    _schema_tokens: dict[str, int]
    _echo: dict[str, bool]

    def _wire_messages(self, model: str) -> list[dict[str, Any]]:
        echo = self._echo.get(model)
        if echo is None:  # the family table is scanned once per model and turn
            echo = self._echo[model] = self.settings.families.lookup(model).echo_reasoning
        if echo:
            return list(self.history)
        return [
            {k: v for k, v in m.items() if k != "reasoning_content"}
            if "reasoning_content" in m
            else m
            for m in self.history
        ]

    def _schemas(self, model: str) -> int:
        # The schemas' share is counted once per model and turn, from each tool's
        # kept JSON length when the agent's tools make up the request's `tools`.
        fields = self._request_fields(model)  # sets the count when it offers tools
        schemas = self._schema_tokens.get(model)
        if schemas is None:
            schemas = self._schema_tokens[model] = schema_tokens(fields)
        return schemas

    def _request_fields(self, model: str) -> dict[str, Any]:
        # Built once per model and turn: schemas are copied, and a turn has many steps.
        cached = self._fields.get(model)
        if cached is None:
            cached = dict(self.settings.fields_for(model))
            tools = self.settings.tools_for(model)
            if tools:
                cached["tools"] = [t.wire_definition() for t in tools]
                # schema_tokens() without serialising them again: json.dumps of a list
                # is "[" + the items joined by ", " + "]" (tools keep their length).
                length = sum(t.wire_length() for t in tools) + 2 * len(tools)
                self._schema_tokens[model] = length // 4
            if self.settings.output is not None:
                cached["response_format"] = self.settings.output.response_format()
            self._fields[model] = cached
        return cached

    def _prepare_now(self, model: str) -> tuple[list[dict[str, Any]], Sequence[AgentEvent]] | None:
        """``_prepare`` for a request that needs no wait and no fitting; else None.

        The common request (no known context limit, a history short of the assumed
        context, counted in place) makes no coroutine: one is made per request.
        """
        settings = self.settings
        if settings.context_limits.get(model) is not None:
            return None  # fitted to a known limit: _prepare
        if settings.context_lookup is not None:
            total = settings.token_counts.count_now(self.history)
            if total is None:
                return None  # a long stretch to count, in slices: _prepare
            schemas = self._schema_tokens.get(model)  # kept from this turn's first request
            if schemas is None:
                schemas = self._schemas(model)
            if total + schemas > ASSUMED_CONTEXT:
                return None  # the context length is looked up: _prepare
        # A family that takes its reasoning back gets the history as it is.
        messages = list(self.history) if self._echo.get(model) else self._wire_messages(model)
        budget = settings.budget
        if budget is None:
            return messages, ()
        return messages, budget.check(model, messages, self._request_fields(model))

    async def _prepare(self, model: str) -> tuple[list[dict[str, Any]], list[AgentEvent]]:
        """The next request's messages (fitted to the context) and the events before it."""
        messages = self._wire_messages(model)
        events: list[AgentEvent] = []
        settings = self.settings
        limit = settings.context_limits.get(model)
        counts: Counts | None = None
        if limit is None and settings.context_lookup is not None:
            # One count per message, kept between requests (wire messages count as
            # their history message: the reasoning left out is not counted); a long
            # stretch of new messages is counted in slices.
            counts = await settings.token_counts.count(self.history)
            if settings.token_counts.total + self._schemas(model) > ASSUMED_CONTEXT:
                limit = await settings.context_lookup(model)
        if limit:
            if counts is None:
                counts = await settings.token_counts.count(self.history)
            fit = fit_messages(
                messages,
                self._request_fields(model),
                limit=limit,
                policy=self.settings.context_policy,
                counts=counts,
            )
            if fit.dropped:
                messages = fit.messages
                events.append(
                    ContextTrimmedEvent(
                        model=model,
                        dropped=fit.dropped,
                        tokens_before=fit.tokens_before,
                        tokens_after=fit.tokens_after,
                        limit=limit,
                    )
                )
        budget = self.settings.budget
        if budget is not None:  # may raise (a budget crossed) or warn
            events += budget.check(model, messages, self._request_fields(model))
        return messages, events

    def _open(self, model: str, messages: list[dict[str, Any]]) -> ChatStream:
        gateway = self.settings.gateway
        fields = self._fields.get(model) or self._request_fields(model)
        # The tags are read once, by stream(): onto the record it starts for the
        # gateway's observers. With none, it starts no record, and setting and
        # resetting the context variable around it would be all the tags cost.
        if not getattr(gateway, "_observers", True):
            return gateway.stream(messages, model=model, **fields)
        with self.settings.tagged:
            return gateway.stream(messages, model=model, **fields)

    async def _chat(
        self, model: str, messages: list[dict[str, Any]]
    ) -> tuple[_Step, list[AgentEvent]]:
        """One unstreamed request, and the events its whole reply stands for."""
        with self.settings.tagged:
            result = await self.settings.gateway.chat(
                messages, model=model, **self._request_fields(model)
            )
        return _Step(result, model), [e for e in replay(result) if self.settings.wants(e.name)]

    async def _whole_again(self, step: _Step) -> _Step:
        # Some hosts garble streamed tool-call fragments; one non-streamed retry of the
        # same step usually comes back whole.
        with self.settings.tagged:
            retry = await self.settings.gateway.chat(
                self._wire_messages(step.model),
                model=step.model,
                **self._request_fields(step.model),
            )
        return _Step(retry, step.model)

    def _block_end(self, reasoning: list[str], block: int) -> list[AgentEvent]:
        """``reasoning:end`` for the reasoning block open at ``block`` (-1: none open)."""
        if block >= 0 and self.settings.wants("reasoning:end"):
            return [ReasoningEndEvent(reasoning="".join(reasoning[block:]))]
        return []

    def _fall_back(
        self, model: str, error: GatewayError, failures: list[tuple[str, GatewayError]]
    ) -> ModelFallbackEvent:
        """Move to the next model of the chain after ``error``, or raise it."""
        models = self.settings.models
        if not can_fall_back(error) or self._model_index + 1 >= len(models):
            if failures:
                raise AllModelsFailedError([*failures, (model, error)]) from error
            raise error
        failures.append((model, error))
        self._model_index += 1
        return ModelFallbackEvent(
            from_model=model, to_model=models[self._model_index], error=str(error)
        )

    def _account_events(self, step: _Step) -> list[AgentEvent]:
        """Count the reply's usage, cost and request id; the events that report them."""
        result = step.result
        self._steps += 1
        self._replies.append(result)  # summed by _finish, not a tally kept per request
        wants = self.settings.wants
        events: list[AgentEvent] = []
        if result.usage is not None and wants("usage"):
            events.append(UsageEvent(usage=result.usage, model=step.model))
        if result.cost is not None and wants("cost"):
            events.append(CostEvent(cost=result.cost, model=step.model))
        if result.notices and wants("notice"):
            # The gateway's account of usage or cost was missing or invalid: say so.
            events.extend(
                NoticeEvent(message=notice.message, code=notice.code) for notice in result.notices
            )
        return events

"""A streamed chat completion: events as they arrive, a complete result at the end."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

from alltoken_agent.errors import GatewayError, StreamInterruptedError, StreamTimeoutError
from alltoken_agent.gateway._body import body_reader, chunks
from alltoken_agent.gateway._deadline import (
    DeadlineExceededError,
    Deadlines,
    ReplyClock,
    within_total,
)
from alltoken_agent.gateway._envelope import detach
from alltoken_agent.gateway._payload import checked, loads, masked
from alltoken_agent.gateway._stream_errors import interrupted, mid_stream_error
from alltoken_agent.gateway._tool_calls import complete_calls, merge_tool_fragment
from alltoken_agent.gateway._wrong_reply import empty_reply, is_event_stream, not_a_stream
from alltoken_agent.gateway.accounting import (
    COST_UNREADABLE,
    DEFAULT_MAX_REQUEST_COST,
    USAGE_MISSING,
    AccountingNotice,
    Cost,
    Usage,
    parse_cost,
    parse_service_tier,
    parse_usage,
    read_huge_ints,
)
from alltoken_agent.gateway.accounting import accounting_extra as accounting_extra  # re-export
from alltoken_agent.gateway.records import EndCallback
from alltoken_agent.gateway.redact import Redactor
from alltoken_agent.gateway.sse import DEFAULT_MAX_LINE, LineTooLongError, SSEDecoder
from alltoken_agent.gateway.types import (
    ChatResult,
    ContentDelta,
    CostComment,
    ReasoningDelta,
    StreamEvent,
    StreamFinish,
    UsageChunk,
)

REQUEST_ID_FIELD = "x-gateway-request-id"


class ChatStream:
    """One streaming request.

    Use it as ``async with gateway.stream(...) as stream: async for event in stream`` (the
    request is sent, and retried, on entry), or iterate it directly. After the last event,
    ``result`` holds the whole reply. Once the first byte of the body has arrived nothing is
    retried: a break raises ``StreamInterruptedError``.
    """

    # Slotted: a server holds one per open stream.
    __slots__ = (
        "_clock",
        "_consumed",
        "_cost_notice",
        "_deadlines",
        "_first_token_at",
        "_max_cost",
        "_max_line",
        "_on_end",
        "_open_response",
        "_redact",
        "_response",
        "_result",
        "model",
        "request_id",
    )

    def __init__(
        self,
        open_response: Callable[[], Awaitable[httpx.Response]],
        redact: Redactor,
        on_end: EndCallback | None = None,
        *,
        max_line: int = DEFAULT_MAX_LINE,
        deadlines: Deadlines | None = None,
        max_cost: Decimal = DEFAULT_MAX_REQUEST_COST,
    ) -> None:
        self._open_response: Callable[[], Awaitable[httpx.Response]] | None = open_response
        self._max_line = max_line
        self._deadlines = deadlines
        self._clock: ReplyClock | None = None
        self._max_cost = max_cost
        self._cost_notice: AccountingNotice | None = None
        self._redact = redact
        self._on_end = on_end
        self._first_token_at: float | None = None
        self._response: httpx.Response | None = None
        self._result: ChatResult | None = None
        self._consumed = False
        self.request_id: str | None = None
        """Body field ``x-gateway-request-id`` when sent, else the response header."""
        self.model: str | None = None
        """The model that answered, from the chunks."""

    async def __aenter__(self) -> ChatStream:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Send the request (with retries) and wait for the response headers."""
        if self._response is None and self._open_response is not None:
            clock = self._clock = self._deadlines.start() if self._deadlines else None
            try:
                self._response = await within_total(clock, self._open_response)
            except GatewayError as error:
                self._end(None, detach(error))
                raise
            self._open_response = None  # and the request body it holds: never sent again
            if clock is not None:
                clock.progress()  # the idle deadline runs from the headers on
            self.request_id = self._response.headers.get(REQUEST_ID_FIELD)

    async def aclose(self) -> None:
        """Release the connection; reading the body to its end lets it be reused."""
        if self._clock is not None:
            self._clock.stop()
        if self._response is not None:
            await self._response.aclose()
        self._end(None, None)

    def _end(self, result: ChatResult | None, error: GatewayError | None) -> None:
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            if result is not None and result.notices:
                # The ledger row says why its usage or cost is unknown.
                on_end(result, error, self._first_token_at, extra=accounting_extra(result))
            else:
                on_end(result, error, self._first_token_at)

    @property
    def result(self) -> ChatResult:
        """The complete reply; available once the stream has been read to the end."""
        if self._result is None:
            raise RuntimeError("the stream has not been read to the end yet")
        return self._result

    async def collect(self) -> ChatResult:
        """Read the whole stream and return the result."""
        async for _ in self:
            pass
        return self.result

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    def batches(self) -> AsyncIterator[list[StreamEvent]]:
        """The events as new lists, one per network read; this or iterating, once."""
        return self._batches()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        batches = self._batches()
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()  # now, not when collected: it releases the connection

    async def _batches(self) -> AsyncGenerator[list[StreamEvent], None]:
        # One generator and one long frame on purpose: this runs per chunk, and every
        # layer between the socket and the caller costs time at hundreds of streams. It
        # hands on a list per read, so a read's chunks cost one hand-off, not one each.
        if self._consumed:
            raise RuntimeError("a ChatStream can be iterated only once")
        self._consumed = True
        owned = self._response is None
        await self.open()
        response = self._response
        assert response is not None
        out: list[StreamEvent] = []  # the events of this read, not yet handed on
        try:
            decoder = SSEDecoder(self._max_line)
            text: list[str] = []
            reasoning: list[str] = []
            calls: dict[int, list[Any]] = {}
            finish: str | None = None
            usage: Usage | None = None
            cost: Cost | None = None
            usage_notice: AccountingNotice | None = None
            done = False
            body_request_id: str | None = None
            response_id: str | None = None
            service_tier: str | None = None
            first = True
            # The key is masked in every payload (one substring test each), and in text
            # that spells it out across chunks (the guards); see redact.py.
            known = self._redact.known
            content_guard = self._redact.guard()
            reasoning_guard = self._redact.guard()
            read = body_reader(response, self._clock)
            received = False
            chunk: Any = None
            choices: Any = None
            choice: Any = None
            delta: Any = None
            try:
                if not is_event_stream(response.headers):
                    raise await not_a_stream(
                        response.status_code, response.headers, chunks(read), self._redact
                    )
                while True:
                    # A stream waiting for its next read holds none of the last one's
                    # parsed chunk (a server holds many such streams open).
                    payload = ""
                    chunk = choices = choice = delta = None
                    raw = await read()
                    if not raw:
                        break
                    received = True
                    for is_comment, payload in decoder.feed(raw):
                        if is_comment:
                            parsed = self._parse_cost(payload)
                            if parsed is not None:
                                cost = parsed
                                out.append(CostComment(parsed))
                            continue
                        if payload == "[DONE]":
                            # Keep reading: the cost comment comes after [DONE], and
                            # reading to the end returns the connection to the pool.
                            done = True
                            continue
                        payload = known(payload)
                        try:
                            chunk = loads(payload)
                            choices = chunk["choices"]
                        except ValueError:
                            chunk = checked(read_huge_ints(payload), payload)
                            if not isinstance(chunk, dict):
                                raise self._interrupted(
                                    "the gateway sent a malformed chunk (not JSON)",
                                    text,
                                    code="malformed_chunk",
                                ) from None
                            choices = chunk.get("choices")
                        except (KeyError, TypeError):
                            # No choices: an error object, or a chunk of another shape.
                            if not isinstance(chunk, dict):
                                continue
                            if "error" in chunk:
                                raise mid_stream_error(
                                    chunk, text, self._redact, self.request_id
                                ) from None
                            choices = None
                        if first:
                            first = False
                            response_id = masked(chunk.get("id"), known)
                            self.model = masked(chunk.get("model"), known) or self.model
                            body_request_id = masked(chunk.get(REQUEST_ID_FIELD), known)
                            tier = masked(chunk.get("service_tier"), known)
                            service_tier = parse_service_tier(tier)
                        wire_usage = chunk.get("usage")
                        if wire_usage is not None:
                            usage, usage_notice = parse_usage(wire_usage)
                            if usage is not None:
                                out.append(UsageChunk(usage))
                        if not choices:
                            continue
                        choice = choices[0]
                        delta = choice.get("delta")
                        if delta:
                            piece = delta.get("content")
                            if piece:
                                piece = content_guard.push(piece)
                            if piece:
                                if not text and self._first_token_at is None:
                                    self._first_token_at = time.monotonic()
                                text.append(piece)
                                out.append(ContentDelta(piece))
                            # Most deltas hold only content; skip the other lookups then.
                            if not piece or len(delta) > 1:
                                piece = delta.get("reasoning_content") or delta.get("reasoning")
                                if piece:
                                    piece = reasoning_guard.push(piece)
                                if piece:
                                    if self._first_token_at is None:
                                        self._first_token_at = time.monotonic()
                                    reasoning.append(piece)
                                    out.append(ReasoningDelta(piece))
                                fragments = delta.get("tool_calls")
                                if fragments:
                                    if self._first_token_at is None:
                                        self._first_token_at = time.monotonic()
                                    for fragment in fragments:
                                        out.append(merge_tool_fragment(calls, fragment))
                        reason = choice.get("finish_reason")
                        if reason:
                            finish = reason = masked(reason, known)
                            out.append(StreamFinish(reason))
                    if out:
                        yield out
                        out = []
                await response.aclose()  # read to its end: the connection goes back to the pool
                for is_comment, payload in decoder.close():
                    if payload == "[DONE]":
                        done = True
                    elif is_comment:
                        cost = self._parse_cost(payload) or cost
                for guard, parts, event in (
                    (content_guard, text, ContentDelta),
                    (reasoning_guard, reasoning, ReasoningDelta),
                ):
                    held = guard.flush()
                    if held:
                        parts.append(held)
                        out.append(event(held))
                if out:
                    yield out
            except LineTooLongError as exc:
                raise self._interrupted(str(exc), text, code="malformed_chunk") from None
            except DeadlineExceededError as exc:
                raise self._interrupted(
                    exc.describe(), text, code=f"{exc.which}_timeout", cls=StreamTimeoutError
                ) from None
            except httpx.TimeoutException:
                raise self._interrupted(
                    "the gateway stopped sending in the middle of the reply (read timeout)",
                    text,
                    code="stream_timeout",
                ) from None
            except httpx.TransportError as exc:
                raise self._interrupted(
                    f"the connection broke in the middle of the reply ({type(exc).__name__})",
                    text,
                ) from None
            if not done and finish is None:
                if not received and response.num_bytes_downloaded == 0:
                    raise empty_reply(response.status_code, response.headers, self._redact)
                raise self._interrupted("the reply ended before it was finished", text)
            if body_request_id:
                self.request_id = body_request_id
            notices = [n for n in (usage_notice, self._cost_notice) if n is not None]
            if usage is None and usage_notice is None and not done:
                # The finish arrived (else this was an interruption above): the text is
                # whole, but what it used and cost is unknown, not zero.
                notices.insert(0, USAGE_MISSING)
            self._result = ChatResult(
                text="".join(text),
                reasoning="".join(reasoning),
                tool_calls=complete_calls(calls, known),
                finish_reason=finish,
                usage=usage,
                cost=cost,
                model=self.model,
                request_id=self.request_id,
                response_id=response_id,
                notices=tuple(notices),
                service_tier=service_tier,
            )
            self._end(self._result, None)
        except GatewayError as error:
            self._end(None, detach(error))
            if out:  # a read that failed part-way: its events first, as one by one
                pending, out = out, []
                yield pending
            raise
        finally:
            if owned:
                await self.aclose()

    def _parse_cost(self, payload: str) -> Cost | None:
        """The cost comment's cost; an invalid one is None and leaves a notice."""
        if not payload.startswith("{"):
            return None
        try:
            data = loads(payload)
        except ValueError:
            if '"cost"' in payload:  # a cost comment we cannot read: unknown, and said so
                self._cost_notice = COST_UNREADABLE
            return None
        if not isinstance(data, dict):
            return None
        cost, notice = parse_cost(data, self._max_cost)
        if notice is not None:
            self._cost_notice = notice
        elif cost is not None:
            self._cost_notice = None
        return cost

    def _interrupted(self, message: str, text: list[str], **kind: Any) -> StreamInterruptedError:
        return interrupted(message, text, self.request_id, **kind)

"""A record of every request the gateway makes, for observers (the ledger, tracing).

Observers are called synchronously after each request ends, successful or not;
one that raises is logged and ignored, so it can never break a request.
Tags set with ``request_tags(...)`` (a session name, an agent id) travel with
every record made inside the ``with`` block, across awaits and tasks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import GatewayError
from alltoken_agent.gateway.accounting import Cost, Usage

if TYPE_CHECKING:
    from alltoken_agent.gateway.types import ChatResult

logger = logging.getLogger("alltoken_agent")

RequestKind = Literal["chat", "image", "video"]

_NO_TAGS: Mapping[str, str] = MappingProxyType({})
_tags: ContextVar[Mapping[str, str]] = ContextVar("alltoken_agent_request_tags", default=_NO_TAGS)


class EndCallback(Protocol):
    """Told once how a stream ended.

    It gets the result, or the error (both None: abandoned), the monotonic time of the
    first token, and keywords (``extra``) for the request record.
    """

    def __call__(
        self,
        result: ChatResult | None,
        error: GatewayError | None,
        first_token_at: float | None,
        /,
        **fields: Any,
    ) -> None:
        """Record the end of the stream."""


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class RequestRecord(FrozenValue):
    """One request as it went: what, when, how long, what it used and cost."""

    kind: RequestKind
    provider: str
    model: str | None
    started_at: datetime
    """UTC."""
    outcome: str
    """``ok``, ``cancelled``, or the error code (``rate_limited``, ``all_providers_failed``)."""
    stream: bool = False
    latency: float | None = None
    """Seconds from sending to the end of the reply (or the failure)."""
    ttft: float | None = None
    """Seconds to the first streamed token."""
    usage: Usage | None = None
    cost: Cost | None = None
    """As the gateway reported it; None when it did not."""
    status: int | None = None
    request_id: str | None = None
    attempts: int = 1
    tags: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific facts (a media job's id, image count, video seconds)."""
    simulated: bool = False
    """Answered by the simulator (``Gateway.offline()``, or one reached by base URL and
    known by its reply header): its cost is not money."""

    def __init__(
        self,
        kind: RequestKind,
        provider: str,
        model: str | None,
        started_at: datetime,
        outcome: str,
        stream: bool = False,
        latency: float | None = None,
        ttft: float | None = None,
        usage: Usage | None = None,
        cost: Cost | None = None,
        status: int | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        tags: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        simulated: bool = False,
    ) -> None:
        fields = self.__dict__
        fields["kind"] = kind
        fields["provider"] = provider
        fields["model"] = model
        fields["started_at"] = started_at
        fields["outcome"] = outcome
        fields["stream"] = stream
        fields["latency"] = latency
        fields["ttft"] = ttft
        fields["usage"] = usage
        fields["cost"] = cost
        fields["status"] = status
        fields["request_id"] = request_id
        fields["attempts"] = attempts
        fields["tags"] = {} if tags is None else tags
        fields["extra"] = {} if extra is None else extra
        fields["simulated"] = simulated


Observer = Callable[[RequestRecord], None]


def current_tags() -> Mapping[str, str]:
    """The tags in force here."""
    return _tags.get()


class request_tags:
    """Attach tags to every request record made inside the block (None values are dropped).

    A class, not ``@contextmanager``: the agent enters it around every request and
    tool call, and a generator-based manager costs several times more.
    """

    __slots__ = ("_base", "_merged", "_tags", "_token")

    def __init__(self, **tags: str | None) -> None:
        self._tags = {k: v for k, v in tags.items() if v is not None}
        self._token: Token[Mapping[str, str]] | None = None
        # The tags in force when last entered and what they became (None: unchanged).
        # The agent enters one manager around each of a turn's requests and tool steps,
        # mostly under the same outer tags: the merge is made once, not on every entry.
        # The variable only ever holds read-only mappings made here (or the empty
        # default), so the same object means the same tags.
        self._base: Mapping[str, str] | None = None
        self._merged: Mapping[str, str] | None = None

    def __enter__(self) -> None:
        current = _tags.get()
        if current is not self._base:
            merged: Mapping[str, str] | None = None
            for key, value in self._tags.items():
                if current.get(key) != value:
                    merged = MappingProxyType({**current, **self._tags})
                    break
            self._base, self._merged = current, merged
        if self._merged is not None:
            self._token = _tags.set(self._merged)

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            _tags.reset(self._token)
            self._token = None


def notify(observers: list[Observer], record: RequestRecord) -> None:
    """Give ``record`` to each observer; a failing observer is logged, not raised."""
    for observer in list(observers):
        try:
            observer(record)
        except Exception:
            logger.exception("request observer %r failed", observer)


def start_record(
    observers: list[Observer],
    provider: str,
    kind: RequestKind,
    model: str | None,
    *,
    stream: bool = False,
    simulated: bool | Callable[[], bool] = False,
) -> Callable[..., None] | None:
    """Start timing a request for ``observers``; see ``Gateway.observe``.

    ``simulated`` may be a callable, asked when the request ends: whether the
    simulator answered is known from its reply, not before the request is sent.
    """
    if not observers:
        return None
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    tags = dict(current_tags())

    def end(
        result: Any = None,
        error: GatewayError | None = None,
        first_token_at: float | None = None,
        **fields: Any,
    ) -> None:
        finished = time.monotonic()
        if error is not None:
            outcome = error.code
        else:
            outcome = "ok" if result is not None else "cancelled"
        record = RequestRecord(
            kind=kind,
            provider=provider,
            model=getattr(result, "model", None) or model,
            started_at=started_at,
            outcome=outcome,
            stream=stream,
            latency=finished - started,
            ttft=None if first_token_at is None else first_token_at - started,
            usage=getattr(result, "usage", None),
            cost=getattr(result, "cost", None),
            status=error.status if error is not None else None,
            request_id=getattr(result, "request_id", None)
            or (error.request_id if error is not None else None),
            attempts=error.attempts if error is not None else 1,
            tags=tags,
            simulated=simulated() if callable(simulated) else simulated,
            **fields,
        )
        notify(observers, record)

    return end

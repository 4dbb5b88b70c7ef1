"""A model request's span attributes and times, from the gateway's ``RequestRecord``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from alltoken_agent.gateway.records import RequestRecord
from alltoken_agent.tracing import _names as attr

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def request_attributes(
    record: RequestRecord, operation: str, model: str | None
) -> dict[str, AttributeValue]:
    """GenAI and ``alltoken.`` attributes of one request (server address aside)."""
    out: dict[str, AttributeValue] = {
        attr.OPERATION_NAME: operation,
        attr.PROVIDER_NAME: record.provider,
        attr.ATTEMPTS: record.attempts,
    }
    if model:
        out[attr.REQUEST_MODEL] = model
    if record.kind != "chat":
        out[attr.OUTPUT_TYPE] = record.kind
    if record.stream:
        out[attr.REQUEST_STREAM] = True
        if record.ttft is not None:
            out[attr.RESPONSE_TIME_TO_FIRST_CHUNK] = record.ttft
    if record.outcome == "ok" and record.model:
        out[attr.RESPONSE_MODEL] = record.model
    if record.request_id:
        out[attr.REQUEST_ID] = record.request_id
    if record.status is not None:
        out[attr.HTTP_STATUS_CODE] = record.status
    usage = record.usage
    if usage is not None:
        out[attr.USAGE_INPUT_TOKENS] = usage.prompt_tokens
        out[attr.USAGE_OUTPUT_TOKENS] = usage.completion_tokens
        if usage.cached_tokens:
            out[attr.USAGE_CACHE_READ_INPUT_TOKENS] = usage.cached_tokens
        if usage.reasoning_tokens:
            out[attr.USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    if record.cost is not None:
        # A double: what backends can sum. The gateway's decimals (10 places, few
        # significant digits) survive the round trip.
        out[attr.COST_USD] = float(record.cost.amount)
        out[attr.COST_SOURCE] = record.cost.source
    return out


def request_times(record: RequestRecord) -> tuple[int, int]:
    """Start and end of the request in nanoseconds since the epoch."""
    start = epoch_ns(record.started_at)
    return start, start + round((record.latency or 0.0) * 1e9)


def epoch_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (no float on the way)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def server_attributes(base_url: str) -> dict[str, AttributeValue]:
    """``server.address`` and ``server.port`` of a gateway."""
    parts = urlsplit(base_url)
    out: dict[str, AttributeValue] = {}
    if parts.hostname:
        out[attr.SERVER_ADDRESS] = parts.hostname
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
        if port is not None:
            out[attr.SERVER_PORT] = port
    return out


def set_error(span: Span, error_type: str, description: str | None) -> None:
    """Mark ``span`` failed the way the conventions record errors."""
    span.set_attribute(attr.ERROR_TYPE, error_type or attr.ERROR_OTHER)
    span.set_status(Status(StatusCode.ERROR, description))

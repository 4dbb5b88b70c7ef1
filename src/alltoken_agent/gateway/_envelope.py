"""Turn an HTTP error status and body into the right GatewayError."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alltoken_agent import errors
from alltoken_agent.gateway._payload import loads_bytes

_BY_STATUS: dict[int, type[errors.GatewayError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    402: errors.PaymentRequiredError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    410: errors.GoneError,
    413: errors.BadRequestError,
    422: errors.BadRequestError,
    429: errors.RateLimitError,
}
_MAX_TEXT = 300


def parse_retry_after(value: str | None) -> float | None:
    """Read ``Retry-After`` as seconds (these gateways never send the date form)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_class(status: int) -> type[errors.GatewayError]:
    """The error class for an HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return errors.UpstreamError
    return errors.GatewayError


def error_from_payload(
    payload: Mapping[str, Any],
    *,
    status: int | None,
    headers: Mapping[str, str],
    redact: Callable[[str], str],
    cls: type[errors.GatewayError] | None = None,
) -> errors.GatewayError:
    """Build an error from a parsed ``{"error": {...}}`` envelope.

    Every text field is redacted and bounded: a hostile gateway may echo the key in
    any of them (``code``, ``request_id``, ``param``, ``type``), not only ``message``.
    """
    env = payload.get("error")
    if not isinstance(env, Mapping):
        env = {"message": str(env)} if env else {}

    def field(value: object) -> str | None:
        text = _text(value)
        return redact(text[:_MAX_TEXT]) if text is not None else None

    # Some errors (404s) carry request_id at the top level instead of inside `error`.
    request_id = (
        field(env.get("request_id"))
        or field(payload.get("request_id"))
        or field(headers.get("x-gateway-request-id"))
    )
    message = _text(env.get("message")) or f"HTTP {status}"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": field(env.get("code")),
        "request_id": request_id,
        "param": field(env.get("param")),
        "type": field(env.get("type")),
    }
    klass = cls or (error_class(status) if status is not None else errors.GatewayError)
    # 429 sends it, and a 503 may (RFC 9110 §10.2.3); the retry policy honours either.
    kwargs["retry_after"] = parse_retry_after(headers.get("retry-after"))
    if issubclass(klass, errors.ConflictError):
        kwargs["task_id"] = field(env.get("task_id"))
    return klass(redact(message), **kwargs)


def detach(error: errors.GatewayError) -> errors.GatewayError:
    """Cut ``error`` loose from the foreign exception it was translated from.

    ``raise ... from None`` only hides the context: ``__context__`` still holds the
    httpx error, whose request carries the ``Authorization`` header. Call this in the
    handler that re-raises (a bare ``raise`` keeps the links as they are then).
    """
    error.__cause__ = None
    error.__context__ = None
    return error


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    redact: Callable[[str], str],
) -> errors.GatewayError:
    """Build an error from a failed response, also when its body is not JSON."""
    try:
        payload = loads_bytes(body) if body else {}
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, Mapping):
        snippet = " ".join(body[:_MAX_TEXT].decode("utf-8", "replace").split())
        reason = f"HTTP {status} with a non-JSON body" + (f": {snippet}" if snippet else "")
        payload = {"error": {"message": reason, "code": f"http_{status}"}}
    return error_from_payload(payload, status=status, headers=headers, redact=redact)


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)

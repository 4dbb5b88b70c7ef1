"""Errors at the server's edge: one table from error class to HTTP status, one JSON envelope.

Every error response has the gateway's envelope shape,
``{"error": {"code", "message", "type", "request_id"}}``, so a client parses ours and
AllToken's the same way. Messages pass through the gateway's redactor on their way
out: the gateway key never reaches a response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from alltoken_agent import (
    AgentError,
    AllModelsFailedError,
    AllTokenAgentError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConfigError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UserError,
)

logger = logging.getLogger("alltoken_agent.server")

Redact = Callable[[str], str]


class ApiError(Exception):
    """An error answered with ``status`` and the JSON envelope; raised by routes and middleware."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        type: str = "invalid_request_error",
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.type = type
        self.headers = dict(headers or {})
        self.request_id = request_id


class RunCancelledError(Exception):
    """A run was cancelled: the client went away, or the server is shutting down."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def error_body(
    code: str, message: str, type: str, request_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The JSON envelope of an error response."""
    return {
        "error": {"code": code, "message": message, "type": type, "request_id": request_id, **extra}
    }


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """``error`` as a JSON response."""
    return JSONResponse(
        error_body(error.code, error.message, error.type, error.request_id),
        status_code=error.status,
        headers={**error.headers, **(headers or {})},
    )


# First match wins, so subclasses come before their bases. A gateway failure is the
# server's upstream failing, not the caller's mistake: 502/503/504, never 401 or 402
# (the caller's own key is fine; ours is the gateway's business and stays private).
_GATEWAY_TABLE: tuple[tuple[type[GatewayError], int, str], ...] = (
    (BadRequestError, 400, "invalid_request_error"),
    (NotFoundError, 400, "invalid_request_error"),
    (AuthenticationError, 502, "upstream_error"),
    (PermissionDeniedError, 502, "upstream_error"),
    (PaymentRequiredError, 502, "upstream_error"),
    (RateLimitError, 503, "upstream_error"),
    (GatewayTimeoutError, 504, "upstream_error"),
    (GatewayConnectionError, 502, "upstream_error"),
)


def api_error_for(error: BaseException, redact: Redact) -> ApiError:
    """Translate a core error into the HTTP answer the caller gets."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, AllModelsFailedError):
        mapped = api_error_for(error.last_error, redact)
        mapped.message = redact(str(error))
        mapped.code = error.code
        return mapped
    if isinstance(error, GatewayError):
        status, kind = 502, "upstream_error"
        for klass, table_status, table_kind in _GATEWAY_TABLE:
            if isinstance(error, klass):
                status, kind = table_status, table_kind
                break
        headers: dict[str, str] = {}
        if isinstance(error, RateLimitError):
            headers["Retry-After"] = str(max(1, round(error.retry_after or 1)))
        return ApiError(
            status,
            error.code,
            redact(f"the model gateway failed: {error.message}"),
            type=kind,
            headers=headers,
            request_id=error.request_id,
        )
    if isinstance(error, RunCancelledError):
        return ApiError(
            503, error.code, str(error), type="server_error", headers={"Retry-After": "1"}
        )
    if isinstance(error, BudgetExceededError):
        return ApiError(402, "budget_exceeded", redact(str(error)), type="budget_error")
    if isinstance(error, UserError):
        return ApiError(422, "invalid_request", redact(str(error)))
    if isinstance(error, AgentError):
        code = getattr(error, "code", None)
        slug = code if isinstance(code, str) else "agent_error"
        return ApiError(422, slug, redact(str(error)), type="agent_error")
    if isinstance(error, ConfigError):
        # A database URL or a config path is the operator's business, not the caller's.
        logger.error("server misconfigured: %s", redact(str(error)))
        return ApiError(
            503,
            "server_unavailable",
            "the server is misconfigured or cannot reach its database; the details are in its log",
            type="server_error",
        )
    if isinstance(error, AllTokenAgentError):
        return ApiError(500, "internal_error", redact(str(error)), type="server_error")
    return ApiError(
        500,
        "internal_error",
        "the server failed unexpectedly; the error is in its log",
        type="server_error",
    )


def install_error_handlers(app: FastAPI, redact: Redact) -> None:
    """Answer every error the app raises with the envelope (and the right status)."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        return error_response(api_error_for(exc, redact))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode; like bad JSON, that is a 422.
            message = f"the request body could not be read ({message}); send JSON in UTF-8"
            return error_response(ApiError(422, "invalid_request", message))
        if exc.status_code == 405:
            # Starlette names the methods of the first route matching the path only; a
            # path served by several routes (GET and POST /v1/sessions) needs them all.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(ApiError(exc.status_code, code, message, headers=headers))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [_detail(problem) for problem in exc.errors()]
        message = "; ".join(f"{d['location']}: {d['message']}" for d in details)
        body = error_body(
            "invalid_request",
            f"the request is invalid: {message}" if message else "the request is invalid",
            "invalid_request_error",
            details=details,
        )
        return JSONResponse(body, status_code=422)

    async def on_core_error(request: Request, exc: Exception) -> JSONResponse:
        mapped = api_error_for(exc, redact)
        if mapped.status >= 500 and mapped.code == "internal_error":
            logger.error("request failed: %s", redact(repr(exc)))
        return error_response(mapped)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(AllTokenAgentError, on_core_error)
    app.add_exception_handler(Exception, on_core_error)


_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _detail(problem: Mapping[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in problem.get("loc", ())]
    return {
        "location": ".".join(location) or "request",
        "message": str(problem.get("msg", "invalid")).removeprefix("Value error, "),
        "type": str(problem.get("type", "value_error")),
    }

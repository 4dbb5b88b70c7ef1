"""Errors at the MCP edge: every failure of ours becomes a tool result with ``isError``.

The model reading the result sees one line naming the error code (the gateway's slug,
such as ``upstream_model_not_found``) and the request id; a client reading
``structuredContent`` gets the same facts as fields. A media job's failure carries the
gateway's code for the job (``upstream_error``, ``upstream_content_violation``, ...),
its job id and journal status. Error texts are already redacted
by the gateway layer, so no key can appear here.
"""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, TextContent

from alltoken_agent import (
    AllModelsFailedError,
    AllTokenAgentError,
    ConfigError,
    GatewayError,
    MediaJobError,
    UserError,
)

# Codes for our own errors, which carry no gateway slug.
_CODES: tuple[tuple[type[AllTokenAgentError], str], ...] = (
    (UserError, "invalid_input"),
    (ConfigError, "config_error"),
)


def error_code(error: AllTokenAgentError) -> str:
    """The slug a client can branch on: the gateway's code, else one of ours."""
    if isinstance(error, AllModelsFailedError):
        return error.last_error.code
    if isinstance(error, GatewayError):
        return error.code
    code = getattr(error, "code", None)
    if isinstance(code, str):
        return code
    for klass, slug in _CODES:
        if isinstance(error, klass):
            return slug
    return type(error).__name__


def error_fields(error: AllTokenAgentError) -> dict[str, Any]:
    """The error as JSON-ready fields: code, message, type, and status and request id."""
    fields: dict[str, Any] = {
        "code": error_code(error),
        "message": error.message if isinstance(error, GatewayError) else str(error),
        "type": type(error).__name__,
    }
    if isinstance(error, GatewayError):
        fields["status"] = error.status
        fields["request_id"] = error.request_id
        fields["attempts"] = error.attempts
    elif isinstance(error, MediaJobError):
        # The job's own facts, and those of the gateway error that ended it (if any).
        fields["job_id"] = error.job_id
        fields["job_status"] = error.status
        cause = error.__cause__
        if isinstance(cause, GatewayError):
            fields["status"] = cause.status
            fields["request_id"] = cause.request_id
    return fields


def error_result(error: AllTokenAgentError) -> CallToolResult:
    """A tool result with ``isError`` set, saying what failed and its code."""
    fields = error_fields(error)
    if isinstance(error, GatewayError):
        text = f"error: {error}"
        if isinstance(error, AllModelsFailedError):
            text += f" (last error: {fields['code']})"
    else:
        text = f"error: {fields['code']}: {error}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content={"error": fields},
        is_error=True,
    )

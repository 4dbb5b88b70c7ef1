"""Errors at the MCP edge: every failure of ours becomes a tool result with ``isError``.

The model reading the result sees one line naming the error code (the gateway's slug,
such as ``upstream_model_not_found``) and the request id; a client reading
``structuredContent`` gets the same facts as fields. A media job's failure carries the
gateway's code for the job (``upstream_error``, ``upstream_content_violation``, ...),
its job id and journal status. Error texts are already redacted
by the gateway layer, so no key can appear here.

A failure that is none of ours (a bug, a stored row that cannot be read) is a tool result
too, ``internal_error``, with the same fields; its own text goes only to the server's log,
redacted, since no layer of ours has looked at it for a key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mcp.types import CallToolResult, TextContent

from alltoken_agent import AllModelsFailedError, AllTokenAgentError, GatewayError

logger = logging.getLogger("alltoken_agent.mcp")


def error_code(error: AllTokenAgentError) -> str:
    """The slug a client can branch on: the gateway's code, else one of ours."""
    return error.code


def error_fields(error: AllTokenAgentError) -> dict[str, Any]:
    """The error as JSON-ready fields (``to_dict()``: code, message, type, and more)."""
    return error.to_dict()


def error_result(error: AllTokenAgentError) -> CallToolResult:
    """A tool result with ``isError`` set, saying what failed and its code."""
    fields = error.to_dict()
    if isinstance(error, GatewayError):
        text = f"error: {error}"
        if isinstance(error, AllModelsFailedError):
            text += f" (last error: {error.last_error.code})"
    else:
        text = f"error: {error.code}: {error}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content={"error": fields},
        is_error=True,
    )


def unexpected_result(tool: str, error: Exception, redact: Callable[[str], str]) -> CallToolResult:
    """``internal_error`` for a failure none of ours: logged (redacted), not shown."""
    logger.error("the %s tool failed: %s", tool, redact(repr(error)))
    message = f"the {tool} tool failed unexpectedly; the error is in the MCP server's log"
    fields = {"code": "internal_error", "message": message, "type": "server_error"}
    return CallToolResult(
        content=[TextContent(type="text", text=f"error: internal_error: {message}")],
        structured_content={"error": fields},
        is_error=True,
    )

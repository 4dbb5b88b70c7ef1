"""Every error alltoken-agent raises, in one tree.

```
AllTokenAgentError
├── ConfigError                  bad or missing configuration (caller mistake)
│   └── MCPServerError           (mcp_wire/servers.py) an MCP server did not start or list
├── UserError                    bad input from the caller
├── GatewayError                 anything the gateway or the wire did
│   ├── BadRequestError          400 (and 413, 422)
│   ├── AuthenticationError      401
│   ├── PaymentRequiredError     402
│   ├── PermissionDeniedError    403
│   ├── NotFoundError            404
│   ├── ConflictError            409
│   ├── GoneError                410 (image_already_retrieved, image_expired)
│   ├── RateLimitError           429, carries retry_after
│   ├── UpstreamError            5xx (all_providers_failed, ...), may carry retry_after
│   ├── GatewayTimeoutError      connect or read timeout
│   ├── GatewayConnectionError   could not connect, or the connection dropped before a reply
│   ├── StreamInterruptedError   the reply started streaming and then broke
│   │   └── StreamTimeoutError   ... or ran past its idle or total deadline
│   └── AllModelsFailedError     every model of a fallback chain failed; holds each attempt
├── AgentError                   the agent's run could not finish as asked
│   ├── MaxStepsExceededError    the tool loop hit max_steps before a final answer
│   ├── ContextLengthError       the conversation does not fit the model's context
│   └── OutputValidationError    the reply did not match output_type, even after a retry
├── ToolError                    a tool failed; the agent turns it into a result for the model
│   ├── CalculationError         (agent/calculator.py) bad or unsafe arithmetic
│   └── UnknownTimezoneError     (agent/clock.py) not an IANA time zone
├── BudgetExceededError          a request would cross a spending limit
└── MediaJobError                an image or video job failed, expired or was cancelled
```

This module imports nothing of ours, so every layer can raise from it.
Error texts never contain an API key: the gateway layer redacts before it
builds them.

Every error is also data: ``code`` is a stable slug a program can branch on (the
gateway's own for a ``GatewayError``), and ``to_dict()`` gives the JSON-ready
fields that the CLI's ``--json`` error event, the server's SSE ``error`` event and
an MCP tool error all carry.
"""

from __future__ import annotations

from typing import Any


class AllTokenAgentError(Exception):
    """Root of every error raised by alltoken-agent.

    Attributes:
        code: A stable slug for the kind of failure (``invalid_input``,
            ``budget_exceeded``, the gateway's ``rate_limit_exceeded``, ...).
    """

    code: str = "alltoken_agent_error"

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready fields: ``code``, ``message`` and ``type`` (the class)."""
        return {"code": self.code, "message": str(self), "type": type(self).__name__}


class ConfigError(AllTokenAgentError):
    """The configuration is missing, unreadable or inconsistent."""

    code = "config_error"


class UserError(AllTokenAgentError):
    """The caller passed input that cannot be used."""

    code = "invalid_input"


class GatewayError(AllTokenAgentError):
    """The gateway answered with an error, or talking to it failed.

    Attributes:
        message: Human-readable explanation, already redacted.
        status: HTTP status, or None when no response arrived.
        code: The gateway's error slug (``all_providers_failed``), or a slug of
            ours for wire failures (``timeout``, ``connection_error``).
        request_id: The gateway's request id when one is known.
        param: The offending request field, when the gateway names one.
        type: The gateway's error type (``auth_error``), when given.
        retry_after: Seconds the gateway asked us to wait (``Retry-After``), when
            it said; sent on 429 and sometimes on 503.
    """

    default_code = "gateway_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        param: str | None = None,
        type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or self.default_code
        self.request_id = request_id
        self.param = param
        self.type = type
        self.retry_after = retry_after
        self.attempts = 1
        """How many times the request was sent before giving up."""
        self.maybe_delivered = False
        """Whether a try may have reached the gateway with no answer back (a timeout, or a
        connection broken after sending). Media submits track it: sending such a job
        again could be billed twice."""

    def to_dict(self) -> dict[str, Any]:
        """``code``, ``status``, ``message``, ``request_id``, ``attempts`` and ``type``."""
        return {
            "code": self.code,
            "status": self.status,
            "message": self.message,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "type": type(self).__name__,
        }

    def __str__(self) -> str:
        head = self.code if self.status is None else f"{self.code} (HTTP {self.status})"
        tries = f" (gave up after {self.attempts} attempts)" if self.attempts > 1 else ""
        tail = f" [request_id={self.request_id}]" if self.request_id else ""
        return f"{head}: {self.message}{tries}{tail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"request_id={self.request_id!r}, message={self.message!r})"
        )


class BadRequestError(GatewayError):
    """The gateway rejected the request as invalid (400); fix the request."""

    default_code = "invalid_request"


class AuthenticationError(GatewayError):
    """The API key is missing, wrong or revoked (401); set a valid key."""

    default_code = "invalid_api_key"


class PaymentRequiredError(GatewayError):
    """The account has no balance or quota left (402); top up."""

    default_code = "payment_required"


class PermissionDeniedError(GatewayError):
    """The key may not do this (403)."""

    default_code = "forbidden"


class NotFoundError(GatewayError):
    """The model, task or route does not exist (404)."""

    default_code = "not_found"


class ConflictError(GatewayError):
    """The request conflicts with the state on the gateway (409).

    Attributes:
        task_id: The original task of a duplicate submit, when the gateway names it.
    """

    default_code = "conflict"

    def __init__(self, message: str, *, task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task_id = task_id


class GoneError(GatewayError):
    """The result was already delivered or has expired (410)."""

    default_code = "gone"


class RateLimitError(GatewayError):
    """Too many requests (429); ``retry_after`` says how long to wait, when the gateway said."""

    default_code = "rate_limited"


class UpstreamError(GatewayError):
    """The gateway or every provider behind it failed (5xx); retry or switch model."""

    default_code = "upstream_error"


class GatewayTimeoutError(GatewayError):
    """Connecting or waiting for a reply took longer than the configured timeout."""

    default_code = "timeout"


class GatewayConnectionError(GatewayError):
    """The gateway could not be reached, or dropped the connection before replying."""

    default_code = "connection_error"


class StreamInterruptedError(GatewayError):
    """A streamed reply started and then broke; the partial text is not a complete answer.

    Attributes:
        partial_text: What arrived before the break, for display only.
    """

    default_code = "stream_interrupted"

    def __init__(self, message: str, *, partial_text: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial_text = partial_text

    def to_dict(self) -> dict[str, Any]:
        """The gateway fields, and ``complete: false`` with the length of what arrived."""
        # What arrived is not the answer, and its text stays out of the error.
        return {**super().to_dict(), "complete": False, "partial_chars": len(self.partial_text)}


class StreamTimeoutError(StreamInterruptedError):
    """A streamed reply went quiet too long, or ran past its overall deadline.

    ``code`` is ``idle_timeout`` or ``total_timeout``; ``partial_text`` holds what
    arrived, which is not a complete answer.
    """

    default_code = "total_timeout"


class AllModelsFailedError(GatewayError):
    """Every model of a fallback chain failed; ``failures`` holds each model's error.

    Status, code and request id are those of the last failure.
    """

    default_code = "all_models_failed"

    def __init__(self, failures: list[tuple[str, GatewayError]]) -> None:
        last = failures[-1][1]
        tried = "; ".join(f"{model}: {error.code}" for model, error in failures)
        super().__init__(
            f"every model failed ({tried})",
            status=last.status,
            code=self.default_code,
            request_id=last.request_id,
        )
        self.failures = failures

    @property
    def last_error(self) -> GatewayError:
        """The error of the last model tried."""
        return self.failures[-1][1]

    def to_dict(self) -> dict[str, Any]:
        """The gateway fields, and ``failures``: each model tried with its error's code."""
        failures = [{"model": model, "code": error.code} for model, error in self.failures]
        return {**super().to_dict(), "failures": failures}


class AgentError(AllTokenAgentError):
    """The agent could not finish the run as asked."""

    code = "agent_error"


class MaxStepsExceededError(AgentError):
    """The tool loop used every step without a final answer.

    Attributes:
        result: The run so far (messages, tool calls, usage), for inspection.
    """

    code = "max_steps_exceeded"

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class ContextLengthError(AgentError):
    """The conversation does not fit the model's context window (and may not be trimmed)."""

    code = "context_length_exceeded"


class OutputValidationError(AgentError):
    """The reply did not validate against ``output_type``, also after one retry.

    Attributes:
        text: The last reply.
    """

    code = "output_validation_failed"

    def __init__(self, message: str, *, text: str = "") -> None:
        super().__init__(message)
        self.text = text


class ToolError(AllTokenAgentError):
    """A tool failed; the agent reports it to the model as an error result."""

    code = "tool_error"


class BudgetExceededError(AllTokenAgentError):
    """The next request would cross a spending limit, so it was not sent."""

    code = "budget_exceeded"


class MediaJobError(AllTokenAgentError):
    """An image or video job failed, expired or was cancelled.

    Attributes:
        job_id: The local job id (``alltoken-agent jobs show JOB_ID``), when known.
        status: The job's status in the journal (``failed``, ``expired``, ...).
        code: The gateway's error code for the job, when it gave one.
    """

    code = "media_job_failed"

    def __init__(
        self,
        message: str,
        *,
        job_id: str | None = None,
        status: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.status = status
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The base fields, ``job_id`` and ``job_status``.

        With ``status`` and ``request_id`` of the gateway error that ended the job,
        when one did.
        """
        fields = {**super().to_dict(), "job_id": self.job_id, "job_status": self.status}
        cause = self.__cause__
        if isinstance(cause, GatewayError):
            fields["status"] = cause.status
            fields["request_id"] = cause.request_id
        return fields

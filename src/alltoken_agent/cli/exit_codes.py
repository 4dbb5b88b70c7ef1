"""Exit codes, and the one-line message a failed command prints."""

from __future__ import annotations

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
    MediaJobError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    StreamInterruptedError,
    UpstreamError,
    UserError,
)

OK = 0
FAILURE = 1
USAGE = 2
AUTH = 3
PAYMENT = 4
RATE_LIMITED = 5
UNAVAILABLE = 6
BUDGET = 7
INTERRUPTED = 130

# First match wins, so subclasses come before their bases.
_TABLE: tuple[tuple[type[BaseException], int], ...] = (
    (UserError, USAGE),
    (ConfigError, USAGE),
    (BadRequestError, USAGE),
    (NotFoundError, USAGE),
    (AuthenticationError, AUTH),
    (PermissionDeniedError, AUTH),
    (PaymentRequiredError, PAYMENT),
    (RateLimitError, RATE_LIMITED),
    (UpstreamError, UNAVAILABLE),
    (GatewayTimeoutError, UNAVAILABLE),
    (GatewayConnectionError, UNAVAILABLE),
    (StreamInterruptedError, UNAVAILABLE),
    (BudgetExceededError, BUDGET),
)


def exit_code_for(error: BaseException) -> int:
    """The process exit code for an error."""
    if isinstance(error, AllModelsFailedError):
        return exit_code_for(error.last_error)
    for klass, code in _TABLE:
        if isinstance(error, klass):
            return code
    return FAILURE


ERROR_PREFIX = "error: "
"""How every line that says a command failed starts (notices and retry lines start
with ``alltoken-agent: ``), so a script or a person finds the failure the same way."""


def describe(error: BaseException) -> str:
    """One line naming the error code and request id (never a traceback)."""
    if isinstance(error, GatewayError):
        if isinstance(error, NotFoundError):  # a model: name `alltoken-agent models` instead
            from alltoken_agent.cli._did_you_mean import is_unknown_model, with_hint

            if is_unknown_model(error):
                error.message = with_hint(error.message, [])
        return f"{ERROR_PREFIX}{error}"
    if isinstance(error, (AgentError, MediaJobError)):  # a failed run or job names its code
        return f"{ERROR_PREFIX}{error.code}: {error}"
    if isinstance(error, AllTokenAgentError):  # a caller's mistake or a limit says it in words
        return f"{ERROR_PREFIX}{error}"
    return f"{ERROR_PREFIX}unexpected {type(error).__name__}: {error}"

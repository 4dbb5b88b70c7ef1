"""One retry policy for every request: which failures to retry, and how long to wait."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from alltoken_agent._frozen import FrozenValue
from alltoken_agent.errors import (
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    RateLimitError,
    UpstreamError,
)

# 501 Not Implemented and 505 will not get better by asking again.
_NEVER_RETRY_5XX = frozenset({501, 505})
# Upstream codes that mean "misconfigured", not "try again" (docs/wire-format.md §1.10).
_PERMANENT_UPSTREAM_CODES = frozenset({"upstream_auth_failed", "unknown_api_format"})


@dataclass(init=False, eq=False, repr=False)  # FrozenValue's methods: not compiled at import
class RetryPolicy(FrozenValue):
    """Retry 429, 5xx, timeouts and connection errors; never 4xx otherwise.

    Attributes:
        max_retries: Retries after the first attempt.
        base_delay: First backoff step in seconds; doubles each attempt.
        max_delay: Cap of one backoff sleep.
        max_retry_after: A ``Retry-After`` longer than this is not waited for:
            the error is raised at once rather than hanging the caller.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0

    def __init__(
        self,
        max_retries: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        max_retry_after: float = 120.0,
    ) -> None:
        fields = self.__dict__
        fields["max_retries"] = max_retries
        fields["base_delay"] = base_delay
        fields["max_delay"] = max_delay
        fields["max_retry_after"] = max_retry_after

    def capped(self, max_attempts: int | None) -> RetryPolicy:
        """This policy with at most ``max_attempts`` tries in all (None: unchanged).

        A provider's contract can bound the attempts (TokenHub: 3, docs/wire-format.md
        §2.5); a configured ``max_retries`` above that is lowered, never raised.
        """
        if max_attempts is None or self.max_retries < max_attempts:
            return self
        return replace(self, max_retries=max(0, max_attempts - 1))

    def is_retryable(self, error: GatewayError) -> bool:
        """Whether asking again can help."""
        if isinstance(error, (RateLimitError, GatewayTimeoutError, GatewayConnectionError)):
            return True
        if isinstance(error, UpstreamError):
            return error.status not in _NEVER_RETRY_5XX and (
                error.code not in _PERMANENT_UPSTREAM_CODES
            )
        return False

    def delay(self, attempt: int, error: GatewayError) -> float | None:
        """Seconds to sleep before retry number ``attempt + 1``, or None to give up.

        ``Retry-After`` (on a 429 or a 5xx) wins when present; otherwise
        exponential backoff with full jitter (a uniform draw below the doubled
        step), which spreads out clients that failed together.
        """
        if attempt >= self.max_retries or not self.is_retryable(error):
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return error.retry_after
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 2`` when the other side named no time.

        A uniform draw below ``base_delay`` doubled ``attempt`` times, capped at
        ``max_delay`` (full jitter). Also for waits that are not a request's retry,
        such as the server driving a media job again.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(attempt, 64)))
        return random.uniform(0, ceiling)

from __future__ import annotations

from typing import Any

import pytest

from alltoken_agent import (
    AuthenticationError,
    BadRequestError,
    Gateway,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
)
from alltoken_agent.gateway import RetryPolicy
from tests.gateway.helpers import TEST_KEY, user


def test_retry_after_is_honoured_exactly() -> None:
    policy = RetryPolicy(max_retries=3)
    assert policy.delay(0, RateLimitError("slow down", status=429, retry_after=7)) == 7


def test_retry_after_on_a_5xx_is_honoured_but_never_makes_a_4xx_retryable() -> None:
    policy = RetryPolicy(max_retries=3, base_delay=50)
    assert policy.delay(0, UpstreamError("busy", status=503, retry_after=2)) == 2
    assert policy.delay(0, BadRequestError("no", status=400, retry_after=2)) is None


def test_retry_after_beyond_the_cap_gives_up_instead_of_hanging() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_after=30)
    assert policy.delay(0, RateLimitError("x", status=429, retry_after=31)) is None


def test_backoff_has_full_jitter_under_a_doubling_ceiling() -> None:
    policy = RetryPolicy(max_retries=10, base_delay=1.0, max_delay=5.0)
    error = UpstreamError("boom", status=503, code="all_providers_failed")
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (6, 5.0)]:
        delays = [policy.delay(attempt, error) for _ in range(200)]
        assert all(d is not None and 0 <= d <= ceiling for d in delays)
        assert max(d for d in delays if d is not None) > ceiling / 2  # spread, not constant


def test_a_wait_that_is_no_request_retry_backs_off_the_same_way_without_end() -> None:
    """The server drives a media job again with this, as often as it takes."""
    policy = RetryPolicy(base_delay=10.0, max_delay=300.0)
    assert all(0 <= policy.backoff(0) <= 10.0 for _ in range(50))
    assert all(0 <= policy.backoff(5000) <= 300.0 for _ in range(50))  # no overflow


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError("x", status=429),
        UpstreamError("x", status=500),
        UpstreamError("x", status=503, code="all_providers_failed"),
        GatewayTimeoutError("x"),
        GatewayConnectionError("x"),
    ],
)
def test_transient_failures_are_retried(error: GatewayError) -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(0, error) is not None
    assert policy.delay(2, error) is None


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("x", status=400),
        AuthenticationError("x", status=401),
        PaymentRequiredError("x", status=402),
        PermissionDeniedError("x", status=403),
        NotFoundError("x", status=404),
        UpstreamError("x", status=503, code="upstream_auth_failed"),
        UpstreamError("x", status=501),
    ],
)
def test_client_errors_are_never_retried(error: GatewayError) -> None:
    assert RetryPolicy(max_retries=5).delay(0, error) is None


def test_capped_lowers_the_retries_to_the_attempt_bound_and_never_raises_them() -> None:
    assert RetryPolicy(max_retries=5).capped(3).max_retries == 2
    assert RetryPolicy(max_retries=1).capped(3).max_retries == 1
    assert RetryPolicy(max_retries=5).capped(None).max_retries == 5


async def test_tokenhub_profile_makes_at_most_three_attempts_on_5xx(th_sim: Any) -> None:
    """docs/wire-format.md §2.5: TokenHub's contract says max 3 attempts on 429/5xx."""
    th_sim.state.enqueue_faults(["503", "503", "503", "503", "503"])
    # Asked for five retries; the TokenHub profile keeps it to three attempts in all.
    generous = RetryPolicy(max_retries=5, base_delay=0.0, max_delay=0.0)
    async with Gateway(
        "tokenhub", base_url=th_sim.base_url, api_key=TEST_KEY, retry=generous
    ) as gateway:
        with pytest.raises(UpstreamError) as caught:
            await gateway.chat(user("hi"))
    assert caught.value.attempts == 3
    sent = [r for r in th_sim.state.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 3


async def test_tokenhub_profile_with_the_default_policy_stops_at_three_429s(
    th_sim: Any,
) -> None:
    # The configured default is 3 retries (4 attempts); `Retry-After: 0` makes no wait.
    th_sim.state.enqueue_faults(["429:0"] * 5)
    async with Gateway("tokenhub", base_url=th_sim.base_url, api_key=TEST_KEY) as gateway:
        with pytest.raises(RateLimitError):
            await gateway.chat(user("hi"))
    sent = [r for r in th_sim.state.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 3
    assert th_sim.state.pending_faults == ["429:0", "429:0"]

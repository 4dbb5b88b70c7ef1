"""The poll policy: a first delay from history, backoff with jitter, server hints first."""

from __future__ import annotations

import pytest

from alltoken_agent.media import PollPolicy


def test_without_history_the_first_poll_waits_the_initial_delay() -> None:
    assert PollPolicy(initial=0.5, jitter=0).first_delay(None) == 0.5


def test_with_history_the_first_poll_waits_a_fraction_of_the_median() -> None:
    policy = PollPolicy(history_scale=0.8, jitter=0, max_first_delay=120)
    assert policy.first_delay(20.0) == pytest.approx(16.0)
    assert policy.first_delay(1000.0) == 120.0  # capped
    assert policy.first_delay(0.0) == policy.min_delay


def test_backoff_grows_to_the_interval_and_jitter_stays_in_bounds() -> None:
    policy = PollPolicy(interval=2.0, backoff=2.0, jitter=0)
    delays = [0.25]
    for _ in range(6):
        delays.append(policy.next_delay(delays[-1]))
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    jittery = PollPolicy(interval=2.0, jitter=0.1)
    for _ in range(200):
        assert 1.8 <= jittery.next_delay(5.0) <= 2.2


def test_a_server_hint_wins_but_is_bounded() -> None:
    policy = PollPolicy(interval=2.0, max_hint=60, min_delay=0.05, jitter=0)
    assert policy.next_delay(2.0, hint=0.2) == 0.2
    assert policy.next_delay(0.1, hint=7.0) == 7.0  # above our cap: the server knows
    assert policy.next_delay(0.1, hint=3600.0) == 60
    assert policy.next_delay(0.1, hint=0.0) == 0.05


def test_defaults_follow_the_observed_latencies() -> None:
    images, videos = PollPolicy.for_images(), PollPolicy.for_videos()
    assert (images.interval, videos.interval) == (2.0, 3.0)
    assert images.deadline is not None and videos.deadline is not None
    assert videos.deadline > images.deadline


def test_a_hint_is_jittered_only_later_so_a_batch_does_not_poll_in_lockstep() -> None:
    policy = PollPolicy(jitter=0.1)
    delays = [policy.next_delay(0.5, hint=1.0) for _ in range(200)]
    assert all(1.0 <= delay <= 1.1 for delay in delays)
    assert len(set(delays)) > 100


def test_first_polls_of_a_batch_are_spread_too() -> None:
    policy = PollPolicy(initial=0.5, jitter=0.1)
    firsts = {policy.first_delay(None) for _ in range(100)}
    assert all(0.45 <= delay <= 0.55 for delay in firsts) and len(firsts) > 50

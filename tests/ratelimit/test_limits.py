"""The limits of docs/domain.md, counted alike by Upstash (real scripts, real Redis) and in
process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from ratelimit_helpers import MakeLimiter

from backend.errors import RateLimited
from backend.ratelimit import LIMITS, Limit, RateLimiter, auth_identifier


def test_limits_are_5_auth_per_15_minutes_10_payments_per_hour_30_lessons_per_minute():
    expected = {
        "auth": Limit(5, 15 * 60),
        "payment": Limit(10, 60 * 60),
        "lesson": Limit(30, 60),
    }

    assert expected == LIMITS


def test_auth_allows_exactly_5_of_8_attempts_and_the_6th_says_when_to_retry(
    any_limiter: MakeLimiter, fresh_window: Callable[[float], None]
):
    limiter = any_limiter()
    identifier = auth_identifier("203.0.113.7", "ann@example.com")
    fresh_window(LIMITS["auth"].window_seconds)

    decisions = [limiter.check("auth", identifier) for _ in range(8)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    sixth = decisions[5]
    assert not sixth.degraded
    assert 0 < sixth.retry_after <= LIMITS["auth"].window_seconds
    assert time.time() < sixth.reset_at <= time.time() + LIMITS["auth"].window_seconds


def test_remaining_counts_down_to_zero(any_limiter: MakeLimiter, fresh_window):
    limiter = any_limiter()
    fresh_window(LIMITS["payment"].window_seconds)

    remaining = [limiter.check("payment", "user-1").remaining for _ in range(11)]

    assert remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]


def test_payment_allows_exactly_10_per_hour(any_limiter: MakeLimiter, fresh_window):
    limiter = any_limiter()
    fresh_window(LIMITS["payment"].window_seconds)

    allowed = sum(limiter.check("payment", "user-1").allowed for _ in range(12))

    assert allowed == 10


def test_each_identifier_has_its_own_window(any_limiter: MakeLimiter, fresh_window):
    limiter = any_limiter()
    fresh_window(LIMITS["auth"].window_seconds)
    for _ in range(5):
        limiter.check("auth", auth_identifier("203.0.113.7", "ann@example.com"))

    other_email = limiter.check("auth", auth_identifier("203.0.113.7", "bob@example.com"))
    other_ip = limiter.check("auth", auth_identifier("198.51.100.2", "ann@example.com"))
    other_policy = limiter.check("lesson", auth_identifier("203.0.113.7", "ann@example.com"))

    assert (other_email.allowed, other_ip.allowed, other_policy.allowed) == (True, True, True)


def test_enforce_raises_rate_limited_with_retry_after_once_the_limit_is_spent(
    any_limiter: MakeLimiter, fresh_window
):
    limiter = any_limiter()
    fresh_window(LIMITS["payment"].window_seconds)
    for _ in range(10):
        limiter.enforce("payment", "user-1")

    with pytest.raises(RateLimited) as refused:
        limiter.enforce("payment", "user-1")

    assert 0 < refused.value.retry_after <= LIMITS["payment"].window_seconds


def test_window_expires_at_retry_after_but_the_previous_window_still_weighs(
    any_limiter: MakeLimiter, fresh_window
):
    limiter = any_limiter(limits={"lesson": Limit(2, 1.0)})
    fresh_window(1.0, 0.6)
    limiter.check("lesson", "user-1")
    limiter.check("lesson", "user-1")
    refused = limiter.check("lesson", "user-1")
    assert not refused.allowed

    time.sleep(refused.retry_after + 0.02)
    first_after_reset = limiter.check("lesson", "user-1")
    second_after_reset = limiter.check("lesson", "user-1")

    # Sliding window: early in the new window, most of the previous one still counts.
    assert (first_after_reset.allowed, second_after_reset.allowed) == (True, False)


def test_a_window_two_lengths_old_is_forgotten(any_limiter: MakeLimiter, fresh_window):
    limiter = any_limiter(limits={"auth": Limit(2, 0.5)})
    for _ in range(3):
        limiter.check("auth", "who")

    time.sleep(1.0)
    fresh_window(0.5, 0.2)
    decisions = [limiter.check("auth", "who").allowed for _ in range(3)]

    assert decisions == [True, True, False]


def test_50_concurrent_lesson_writes_let_exactly_30_through(any_limiter: MakeLimiter, fresh_window):
    limiter = any_limiter()
    start = threading.Barrier(50)

    def write(_: int) -> bool:
        start.wait()
        decision = limiter.check("lesson", "coach-1")
        assert not decision.degraded
        return decision.allowed

    fresh_window(LIMITS["lesson"].window_seconds, 2.0)
    with ThreadPoolExecutor(max_workers=50) as pool:
        allowed = sum(pool.map(write, range(50)))

    assert allowed == 30


def test_50_concurrent_async_lesson_writes_let_exactly_30_through(
    any_limiter: MakeLimiter, fresh_window
):
    limiter = any_limiter()

    async def burst() -> list[bool]:
        decisions = await asyncio.gather(*(limiter.acheck("lesson", "coach-1") for _ in range(50)))
        await limiter.aclose()
        assert not any(d.degraded for d in decisions)
        return [d.allowed for d in decisions]

    fresh_window(LIMITS["lesson"].window_seconds, 2.0)
    allowed = asyncio.run(burst())

    assert sum(allowed) == 30


def test_aenforce_raises_rate_limited_like_enforce(any_limiter: MakeLimiter, fresh_window):
    limiter: RateLimiter = any_limiter(limits={"payment": Limit(1, 60)})
    fresh_window(60)

    async def twice() -> None:
        try:
            await limiter.aenforce("payment", "user-1")
            await limiter.aenforce("payment", "user-1")
        finally:
            await limiter.aclose()

    with pytest.raises(RateLimited):
        asyncio.run(twice())


def test_unknown_policy_and_empty_identifier_are_refused_as_programming_errors(
    any_limiter: MakeLimiter,
):
    limiter = any_limiter()

    with pytest.raises(ValueError, match="unknown rate-limit policy"):
        limiter.check("signup", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be empty"):
        limiter.check("auth", "")

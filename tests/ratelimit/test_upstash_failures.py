"""When Upstash cannot answer in time: auth and payment fail closed, lessons open, all logged."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import httpx
import pytest
from ratelimit_helpers import MakeLimiter

from backend.errors import RateLimited
from backend.ratelimit import DEGRADED_RETRY_AFTER
from backend.testing.redis import UpstashEndpoint

TIMEOUT = 0.5


@pytest.fixture
def unreachable(upstash: UpstashEndpoint, unreachable_url: str) -> UpstashEndpoint:
    return dataclasses.replace(upstash, url=unreachable_url)


@pytest.fixture
def slow(upstash: UpstashEndpoint) -> UpstashEndpoint:
    upstash.adapter.delay = 3.0
    return upstash


def test_unreachable_upstash_fails_auth_and_payment_closed_and_lesson_open_within_the_timeout(
    upstash_limiter: MakeLimiter, unreachable: UpstashEndpoint
):
    limiter = upstash_limiter(endpoint=unreachable, upstash_timeout_seconds=TIMEOUT)

    answers, elapsed = {}, []
    for policy in ("auth", "payment", "lesson"):
        started = time.monotonic()
        answers[policy] = limiter.check(policy, "user-1")
        elapsed.append(time.monotonic() - started)

    assert {p: d.allowed for p, d in answers.items()} == {
        "auth": False,
        "payment": False,
        "lesson": True,
    }
    assert all(d.degraded for d in answers.values())
    assert max(elapsed) < TIMEOUT


def test_slow_upstash_hits_the_timeout_and_fails_closed_for_auth(
    upstash_limiter: MakeLimiter, slow: UpstashEndpoint
):
    limiter = upstash_limiter(endpoint=slow, upstash_timeout_seconds=TIMEOUT)

    started = time.monotonic()
    decision = limiter.check("auth", "user-1")
    elapsed = time.monotonic() - started

    assert (decision.allowed, decision.degraded) == (False, True)
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 0.5


def test_slow_upstash_hits_the_timeout_in_async_checks_and_fails_open_for_lessons(
    upstash_limiter: MakeLimiter, slow: UpstashEndpoint
):
    limiter = upstash_limiter(endpoint=slow, upstash_timeout_seconds=TIMEOUT)

    async def timed() -> tuple[bool, bool, float]:
        started = time.monotonic()
        decision = await limiter.acheck("lesson", "user-1")
        elapsed = time.monotonic() - started
        await limiter.aclose()
        return decision.allowed, decision.degraded, elapsed

    allowed, degraded, elapsed = asyncio.run(timed())

    assert (allowed, degraded) == (True, True)
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 0.5


def test_fail_closed_enforce_raises_rate_limited_with_a_short_retry_after(
    upstash_limiter: MakeLimiter, unreachable: UpstashEndpoint
):
    limiter = upstash_limiter(endpoint=unreachable, upstash_timeout_seconds=TIMEOUT)

    with pytest.raises(RateLimited, match="cannot be checked") as refused:
        limiter.enforce("payment", "user-1")

    assert refused.value.retry_after == DEGRADED_RETRY_AFTER


def test_failure_modes_are_configurable(upstash_limiter: MakeLimiter, unreachable: UpstashEndpoint):
    limiter = upstash_limiter(
        endpoint=unreachable,
        upstash_timeout_seconds=TIMEOUT,
        ratelimit_auth_on_failure="open",
        ratelimit_lesson_on_failure="closed",
    )

    auth, lesson = limiter.check("auth", "x"), limiter.check("lesson", "x")

    assert (auth.allowed, lesson.allowed) == (True, False)


def test_every_failure_is_logged_error_when_closed_and_warning_when_open(
    upstash_limiter: MakeLimiter, unreachable: UpstashEndpoint, caplog: pytest.LogCaptureFixture
):
    limiter = upstash_limiter(endpoint=unreachable, upstash_timeout_seconds=TIMEOUT)
    caplog.set_level(logging.WARNING, logger="backend.ratelimit")

    for policy in ("auth", "auth", "lesson"):
        limiter.check(policy, "someone@example.com")

    records = [r for r in caplog.records if r.name == "backend.ratelimit"]

    assert [(r.levelname, r.getMessage().split(":")[0]) for r in records] == [
        ("ERROR", "rate limit auth"),
        ("ERROR", "rate limit auth"),
        ("WARNING", "rate limit lesson"),
    ]
    assert not any("someone@example.com" in r.getMessage() for r in records)


def test_adapter_refuses_a_bad_token_with_401(upstash: UpstashEndpoint):
    response = httpx.post(upstash.url, json=["PING"], headers={"Authorization": "Bearer wrong"})

    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})


def test_a_bad_token_makes_auth_fail_closed(upstash_limiter: MakeLimiter, upstash: UpstashEndpoint):
    limiter = upstash_limiter(endpoint=dataclasses.replace(upstash, token="wrong"))

    decision = limiter.check("auth", "x")

    assert (decision.allowed, decision.degraded) == (False, True)


def test_upstash_url_without_token_is_a_start_up_error(upstash: UpstashEndpoint):
    from backend.config import ConfigError, load_settings
    from backend.ratelimit import RateLimiter

    settings = load_settings(upstash_redis_rest_url=upstash.url, upstash_redis_rest_token=None)

    with pytest.raises(ConfigError, match="UPSTASH_REDIS_REST_TOKEN"):
        RateLimiter.from_settings(settings)

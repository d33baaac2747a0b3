"""Limiters for the rate-limit tests: through Upstash (the adapter over Redis) or in process."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from ratelimit_helpers import MakeLimiter, settings_for

from backend.ratelimit import Limit, PolicyName, RateLimiter
from backend.testing.redis import UpstashEndpoint


@pytest.fixture
def upstash_limiter(upstash: UpstashEndpoint) -> Iterator[MakeLimiter]:
    """Builds limiters on the Upstash adapter: `(limits=None, endpoint=None, **settings)`."""
    built: list[RateLimiter] = []

    def make(
        limits: Mapping[PolicyName, Limit] | None = None,
        endpoint: UpstashEndpoint | None = None,
        **overrides: Any,
    ) -> RateLimiter:
        settings = settings_for(endpoint or upstash, **overrides)
        limiter = RateLimiter.from_settings(settings, limits=limits, prefix=upstash.prefix)
        built.append(limiter)
        return limiter

    yield make
    for limiter in built:
        limiter.close()


@pytest.fixture(params=["upstash", "in_process"])
def any_limiter(request: pytest.FixtureRequest) -> MakeLimiter:
    """Builds limiters on each store in turn: both must count the same way."""
    if request.param == "upstash":
        make: MakeLimiter = request.getfixturevalue("upstash_limiter")
        return make

    def in_process(
        limits: Mapping[PolicyName, Limit] | None = None, **overrides: Any
    ) -> RateLimiter:
        return RateLimiter.from_settings(settings_for(None, **overrides), limits=limits)

    return in_process


@pytest.fixture
def unreachable_url() -> str:
    """An address on loopback where nothing listens: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def fresh_window() -> Callable[[float], None]:
    """Waits, when needed, so that a burst of requests cannot straddle a window boundary."""

    def wait(window_seconds: float, needed_seconds: float = 1.0) -> None:
        left = window_seconds - time.time() % window_seconds
        if left < needed_seconds:
            time.sleep(left + 0.01)

    return wait

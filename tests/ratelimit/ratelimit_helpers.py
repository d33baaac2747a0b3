"""Helpers the rate-limit tests share (a plain module: importing from conftest is fragile)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.config import Settings, load_settings
from backend.ratelimit import RateLimiter
from backend.testing.redis import UpstashEndpoint

MakeLimiter = Callable[..., RateLimiter]


def settings_for(endpoint: UpstashEndpoint | None, **overrides: Any) -> Settings:
    """Settings naming `endpoint` (or no Upstash at all), whatever the environment says."""
    return load_settings(
        upstash_redis_rest_url=endpoint.url if endpoint else None,
        upstash_redis_rest_token=endpoint.token if endpoint else None,
        **overrides,
    )

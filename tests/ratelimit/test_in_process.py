"""Without Upstash the limits are kept in process: same limits, one warning, one shared limiter."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from ratelimit_helpers import settings_for

import backend.ratelimit
from backend.config import get_settings
from backend.ratelimit import InProcessStore, RateLimiter, policies_from_settings


@pytest.fixture
def environment_without_upstash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No UPSTASH_* variables and no `.env`, with the cached settings and limiter forgotten."""
    monkeypatch.delenv("UPSTASH_REDIS_REST_URL", raising=False)
    monkeypatch.delenv("UPSTASH_REDIS_REST_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    backend.ratelimit._process_limiter.cache_clear()
    yield
    get_settings.cache_clear()
    backend.ratelimit._process_limiter.cache_clear()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "backend.ratelimit" and r.levelno == logging.WARNING
    ]


def test_without_upstash_from_env_keeps_limits_in_process_and_warns_exactly_once(
    environment_without_upstash: None, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="backend.ratelimit")

    first, second = RateLimiter.from_env(), RateLimiter.from_env()
    decisions = [first.check("auth", "who") for _ in range(8)]
    decisions += [second.check("lesson", "who") for _ in range(3)]

    assert first is second
    assert first.store_kind == "in_process"
    assert [d.allowed for d in decisions[:8]] == [True] * 5 + [False] * 3
    assert len(_warnings(caplog)) == 1
    assert "in this process" in _warnings(caplog)[0]


def test_every_service_counts_into_the_same_in_process_windows(environment_without_upstash: None):
    for _ in range(10):
        RateLimiter.from_env().check("payment", "user-1")

    assert not RateLimiter.from_env().check("payment", "user-1").allowed


def test_with_upstash_configured_the_windows_live_in_upstash(upstash, caplog):
    caplog.set_level(logging.WARNING, logger="backend.ratelimit")

    limiter = RateLimiter.from_settings(settings_for(upstash))

    assert (limiter.store_kind, _warnings(caplog)) == ("upstash", [])
    limiter.close()


def test_in_process_store_forgets_stale_windows_so_memory_stays_bounded():
    clock = [1_000_000.0]
    store = InProcessStore(clock=lambda: clock[0])
    limiter = RateLimiter(store, policies_from_settings(settings_for(None)))

    for n in range(InProcessStore._PRUNE_EVERY):
        limiter.check("lesson", f"user-{n}")
    clock[0] += 3 * 60 * 60  # longer than two of the longest window
    for n in range(InProcessStore._PRUNE_EVERY):
        limiter.check("lesson", f"other-{n}")

    assert len(store._windows) <= InProcessStore._PRUNE_EVERY

"""RATELIMIT_AUTH, RATELIMIT_PAYMENT and RATELIMIT_LESSON replace the limits of the domain."""

from __future__ import annotations

import pytest

from backend.config import ConfigError, load_settings, parse_rate
from backend.ratelimit import LIMITS, Limit, RateLimiter, policies_from_settings


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("30/60s", (30, 60.0)),
        ("5/15m", (5, 900.0)),
        ("10/1h", (10, 3600.0)),
        ("100/d", (100, 86400.0)),
        ("3 / 500ms", (3, 0.5)),
    ],
)
def test_a_rate_reads_as_requests_per_window(rate, parsed):
    assert parse_rate(rate) == parsed


def test_unset_rates_keep_the_domains_limits():
    policies = policies_from_settings(load_settings())

    assert {name: p.limit for name, p in policies.items()} == LIMITS


def test_a_configured_rate_replaces_only_its_policy(monkeypatch):
    monkeypatch.setenv("RATELIMIT_LESSON", "2/10s")

    policies = policies_from_settings(load_settings())

    assert policies["lesson"].limit == Limit(2, 10)
    assert policies["auth"].limit == LIMITS["auth"]


def test_a_configured_rate_is_what_the_limiter_counts(monkeypatch):
    monkeypatch.delenv("UPSTASH_REDIS_REST_URL", raising=False)
    monkeypatch.setenv("RATELIMIT_PAYMENT", "2/1h")
    limiter = RateLimiter.from_settings(load_settings())  # in process: no Upstash configured

    allowed = [limiter.check("payment", "coach-1").allowed for _ in range(3)]

    assert allowed == [True, True, False]


@pytest.mark.parametrize("rate", ["30", "30/", "0/60s", "30/60 seconds", "-1/1m", "x/1h"])
def test_a_malformed_rate_stops_start_up_naming_the_variable(monkeypatch, rate):
    monkeypatch.setenv("RATELIMIT_AUTH", rate)

    with pytest.raises(ConfigError, match="RATELIMIT_AUTH"):
        load_settings()

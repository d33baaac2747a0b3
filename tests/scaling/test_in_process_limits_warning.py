"""Without Upstash, each worker keeps its own rate-limit windows: one worker is warned about,
several are an error in the log, since every limit is then multiplied by the workers."""

from __future__ import annotations

import logging

from backend.config import load_settings
from backend.ratelimit import RateLimiter


def _records(caplog, **settings):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="backend.ratelimit"):
        RateLimiter.from_settings(load_settings(**settings)).close()
    return [r for r in caplog.records if r.name == "backend.ratelimit"]


def test_one_worker_without_upstash_gets_a_warning(caplog):
    records = _records(caplog, web_concurrency=1)

    assert [r.levelno for r in records] == [logging.WARNING]


def test_several_workers_without_upstash_get_an_error_naming_the_multiplied_limits(caplog):
    records = _records(caplog, web_concurrency=4)

    assert [r.levelno for r in records] == [logging.ERROR]
    assert "RATE LIMITS DO NOT HOLD" in records[0].getMessage()
    assert "4 times" in records[0].getMessage()


def test_several_workers_with_upstash_get_no_warning(caplog, upstash):
    records = _records(
        caplog,
        web_concurrency=4,
        upstash_redis_rest_url=upstash.url,
        upstash_redis_rest_token=upstash.token,
    )

    assert records == []

"""The services apply docs/domain.md's rate limits themselves, counted in Redis through Upstash.

The `upstash` fixture is a real Redis behind the Upstash REST protocol, so the
real limiter (`backend.ratelimit`) runs its real scripts here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from backend.config import load_settings
from backend.errors import RateLimited
from backend.ratelimit import RateLimiter
from tests.services.support import hours_from_now


@pytest.fixture
def limiter(upstash) -> Iterator[RateLimiter]:
    settings = load_settings(
        upstash_redis_rest_url=upstash.url, upstash_redis_rest_token=upstash.token
    )
    built = RateLimiter.from_settings(settings, prefix=upstash.prefix)
    yield built
    built.close()


def test_the_31st_lesson_write_within_a_minute_is_rate_limited(
    coach, services_for, limiter, single
):
    services = services_for(coach, limiter)
    ann = services.clients.create(first_name="Ann")
    start = hours_from_now(24)
    for i in range(30):
        services.lessons.create(
            client_ids=[ann.id], start_time=start + timedelta(hours=i), lesson_type_id=single.id
        )

    with pytest.raises(RateLimited) as caught:
        services.lessons.create(
            client_ids=[ann.id], start_time=start - timedelta(hours=2), lesson_type_id=single.id
        )

    assert 0 < caught.value.retry_after <= 60


@pytest.mark.direct_only
def test_a_refused_lesson_write_never_reaches_the_database(
    pg, coach, services_for, limiter, single
):
    services = services_for(coach, limiter)
    ann = services.clients.create(first_name="Ann")
    for _ in range(30):
        limiter.check("lesson", str(coach.id))

    with pytest.raises(RateLimited):
        services.lessons.create(
            client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
        )

    assert pg.admin.execute("select count(*) from lessons").fetchone()[0] == 0


def test_the_lesson_limit_counts_per_user(new_coach, coach, services_for, limiter):
    for _ in range(30):
        limiter.check("lesson", str(coach.id))
    other = services_for(new_coach(), limiter)
    client = other.clients.create(first_name="Bob")

    lesson = other.lessons.create(
        client_ids=[client.id], start_time=hours_from_now(3), end_time=hours_from_now(4)
    )

    assert lesson.status == "scheduled"


def test_reads_and_client_edits_are_not_rate_limited(coach, services_for, limiter):
    for _ in range(30):
        limiter.check("lesson", str(coach.id))
    services = services_for(coach, limiter)

    services.clients.create(first_name="Ann")

    assert len(services.reads.balances().items) == 1


def test_the_11th_payment_within_an_hour_is_rate_limited(coach, services_for, limiter, single):
    services = services_for(coach, limiter)
    ann = services.clients.create(first_name="Ann")
    charges = []
    for i in range(11):
        lesson = services.lessons.create(
            client_ids=[ann.id], start_time=hours_from_now(-2 * (i + 2)), lesson_type_id=single.id
        )
        charges.append(services.lessons.participants(lesson.id)[0])
    for charge in charges[:10]:
        services.payments.record(client_id=ann.id, participant_ids=[charge.id], method="cash")

    with pytest.raises(RateLimited) as caught:
        services.payments.record(client_id=ann.id, participant_ids=[charges[10].id], method="cash")

    assert caught.value.retry_after > 0

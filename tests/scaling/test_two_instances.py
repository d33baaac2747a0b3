"""Two service instances (two `Backend`s, each with its own connection pool and limiter)
against one database and one Upstash: they share nothing else, and the rate limits and
idempotency keys hold across them as in one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from backend.app import Backend
from backend.config import load_settings
from backend.errors import RateLimited
from backend.gateway.base import Caller
from backend.gateway.direct import DirectGateway
from backend.ratelimit import RateLimiter
from tests.services.support import hours_from_now


@pytest.fixture
def instances(pg, upstash) -> Iterator[tuple[Backend, Backend]]:
    settings = load_settings(
        database_url=pg.url,
        upstash_redis_rest_url=upstash.url,
        upstash_redis_rest_token=upstash.token,
        ratelimit_lesson="4/1m",
    )
    built = [
        Backend(
            settings,
            DirectGateway(pg.url, max_size=2),
            limiter=RateLimiter.from_settings(settings, prefix=upstash.prefix),
        )
        for _ in range(2)
    ]
    yield built[0], built[1]
    for backend in built:
        backend.close()
        backend.limiter.close()  # type: ignore[union-attr]


@pytest.fixture
def caller(pg) -> Caller:
    coach = pg.sign_up()
    return Caller.user(coach.id, email=coach.email)


def _lesson_setup(backend: Backend, caller: Caller) -> tuple[object, object]:
    services = backend.services_for(caller)
    client = services.clients.create(first_name="Ann")
    kind = services.lesson_types.create(name="Hour", duration_minutes=60, price_cents=5000)
    return client.id, kind.id


def test_the_lesson_limit_counts_the_writes_of_both_instances(instances, caller):
    one, two = instances
    client_id, type_id = _lesson_setup(one, caller)
    start = hours_from_now(24)
    for i in range(4):  # two writes through each instance: the limit is 4 a minute
        backend = one if i % 2 else two
        backend.services_for(caller).lessons.create(
            client_ids=[client_id], start_time=start + timedelta(hours=i), lesson_type_id=type_id
        )

    with pytest.raises(RateLimited):
        one.services_for(caller).lessons.create(
            client_ids=[client_id], start_time=start - timedelta(hours=3), lesson_type_id=type_id
        )


def test_a_key_used_on_one_instance_replays_on_the_other(pg, instances, caller):
    one, two = instances

    first = one.services_for(caller).clients.create(first_name="Bo", idempotency_key="bo-1")
    again = two.services_for(caller).clients.create(first_name="Bo", idempotency_key="bo-1")

    assert again == first
    assert pg.admin.execute("select count(*) from public.clients").fetchone()[0] == 1


def test_one_booking_sent_to_both_instances_at_once_is_booked_once(pg, instances, caller):
    one, two = instances
    client_id, type_id = _lesson_setup(one, caller)
    start, answers = hours_from_now(30), []
    gate = threading.Barrier(2)

    def book(backend: Backend) -> None:
        gate.wait()
        lesson = backend.services_for(caller).lessons.create(
            client_ids=[client_id],
            start_time=start,
            lesson_type_id=type_id,
            idempotency_key="same-booking",
        )
        answers.append(lesson.id)

    threads = [threading.Thread(target=book, args=(b,)) for b in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2 and answers[0] == answers[1]
    assert pg.admin.execute("select count(*) from public.lessons").fetchone()[0] == 1

"""Idempotency keys: a write sent twice with one key is done once, through either gateway."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import DoubleBooking, IdempotencyMismatch, ValidationError
from tests.services.support import hours_from_now


def _count(pg, table, coach):
    return pg.admin.execute(
        f"select count(*) from public.{table} where coach_id = %s", (coach.id,)
    ).fetchone()[0]


def test_a_client_created_twice_with_one_key_is_created_once(pg, svc, coach):
    first = svc.clients.create(first_name="Ann", idempotency_key="client-ann")
    again = svc.clients.create(first_name="Ann", idempotency_key="client-ann")

    assert again == first
    assert _count(pg, "clients", coach) == 1


def test_a_lesson_created_twice_with_one_key_is_booked_once(pg, svc, coach, single, ann):
    start = hours_from_now(30)
    first = svc.lessons.create(
        client_ids=[ann.id], start_time=start, lesson_type_id=single.id, idempotency_key="l-1"
    )
    again = svc.lessons.create(
        client_ids=[ann.id], start_time=start, lesson_type_id=single.id, idempotency_key="l-1"
    )

    assert again == first
    assert _count(pg, "lessons", coach) == 1
    assert _count(pg, "lesson_participants", coach) == 1


def test_a_payment_recorded_twice_with_one_key_is_recorded_once(pg, svc, coach, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(-3), lesson_type_id=single.id
    )
    charge = svc.lessons.participants(lesson.id)[0]
    pay = {"client_id": ann.id, "participant_ids": [charge.id], "method": "cash"}

    first = svc.payments.record(pay, idempotency_key="pay-1")
    again = svc.payments.record(pay, idempotency_key="pay-1")

    assert again == first
    assert _count(pg, "payments", coach) == 1


def test_updates_deletes_and_counts_replay_their_first_answer(svc, ann, single):
    renamed = svc.clients.update(ann.id, last_name="Lee", idempotency_key="rename")
    assert svc.clients.update(ann.id, last_name="Lee", idempotency_key="rename") == renamed

    series = svc.lessons.create_recurring(
        client_ids=[ann.id],
        first_start_time=hours_from_now(48),
        duration_minutes=60,
        frequency="weekly",
        occurrences=3,
        lesson_type_id=single.id,
    )
    series_id = series[0].recurring_lesson_id
    assert svc.lessons.cancel_recurring(series_id, idempotency_key="stop") == 3
    assert svc.lessons.cancel_recurring(series_id, idempotency_key="stop") == 3

    unused = svc.lesson_types.create(name="Unused", duration_minutes=30, price_cents=100)
    svc.lesson_types.delete(unused.id, idempotency_key="drop-unused")
    svc.lesson_types.delete(unused.id, idempotency_key="drop-unused")  # replayed, not NotFound


def test_one_key_with_a_different_request_is_a_mismatch_and_writes_nothing(pg, svc, coach):
    svc.clients.create(first_name="Ann", idempotency_key="k")

    with pytest.raises(IdempotencyMismatch) as caught:
        svc.clients.create(first_name="Bob", idempotency_key="k")

    assert (caught.value.key, caught.value.http_status) == ("idempotency_mismatch", 409)
    assert _count(pg, "clients", coach) == 1


def test_keys_belong_to_their_user(pg, svc, coach, new_coach, services_for):
    other = new_coach()
    mine = svc.clients.create(first_name="Ann", idempotency_key="shared-key")

    theirs = services_for(other).clients.create(first_name="Ann", idempotency_key="shared-key")

    assert theirs.id != mine.id
    assert theirs.coach_id == other.id
    assert _count(pg, "clients", other) == 1


def test_a_refused_write_leaves_its_key_free(pg, svc, coach, single, ann, bob):
    start = hours_from_now(30)
    svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)

    with pytest.raises(DoubleBooking):
        svc.lessons.create(
            client_ids=[bob.id], start_time=start, lesson_type_id=single.id, idempotency_key="b"
        )
    later = svc.lessons.create(
        client_ids=[bob.id], start_time=hours_from_now(40), lesson_type_id=single.id,
        idempotency_key="b",
    )  # fmt: skip

    assert later.start_time == hours_from_now(40)
    assert _count(pg, "lessons", coach) == 2


@pytest.mark.direct_only
def test_a_key_is_forgotten_after_24_hours(pg, svc, coach):
    svc.clients.create(first_name="Ann", idempotency_key="old")
    pg.admin.execute("update private.idempotency_keys set created_at = now() - interval '25 hours'")

    svc.clients.create(first_name="Bob", idempotency_key="old")

    assert _count(pg, "clients", coach) == 2


@pytest.mark.direct_only
def test_a_key_is_remembered_for_24_hours(pg, svc, coach):
    svc.clients.create(first_name="Ann", idempotency_key="recent")
    pg.admin.execute(
        "update private.idempotency_keys set created_at = now() - interval '23 hours 59 minutes'"
    )

    svc.clients.create(first_name="Ann", idempotency_key="recent")

    assert _count(pg, "clients", coach) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "line\nbreak"])
def test_a_malformed_key_is_refused_before_the_round_trip(offline, key):
    with pytest.raises(ValidationError) as caught:
        offline.clients.create(first_name="Ann", idempotency_key=key)

    assert "idempotency_key" in caught.value.fields


def test_the_write_without_a_key_is_sent_as_before(offline):
    with pytest.raises(AssertionError, match="Insert\\(table='clients'"):
        offline.clients.create(first_name="Ann")


def test_a_key_is_sent_with_the_write_it_guards(offline):
    with pytest.raises(AssertionError, match="Idempotent\\(write=Insert\\(table='clients'"):
        offline.clients.create(first_name="Ann", idempotency_key=str(uuid.uuid4()))

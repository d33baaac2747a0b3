"""Database refusals reach callers in this layer's words: fields and times, no constraint names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.errors import DoubleBooking, Duplicate, from_database_error
from tests.services.support import hours_from_now


def test_a_duplicate_lesson_type_name_names_the_field_and_the_value(svc):
    svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=5000)

    with pytest.raises(Duplicate) as caught:
        svc.lesson_types.create(name="Single", duration_minutes=30, price_cents=3000)

    assert caught.value.message == "a lesson type with this name already exists"
    assert caught.value.fields == {"name": "a lesson type with this name already exists"}


def test_an_overlapping_lesson_names_the_lesson_it_overlaps_and_its_time(svc, single, ann, bob):
    start = hours_from_now(24).replace(minute=0, second=0, microsecond=0)
    taken = svc.lessons.create(
        client_ids=[ann.id], start_time=start, lesson_type_id=single.id, title="Ann's serve"
    )

    with pytest.raises(DoubleBooking) as caught:
        svc.lessons.create(
            client_ids=[bob.id], start_time=start + timedelta(minutes=30), lesson_type_id=single.id
        )

    end = start + timedelta(hours=1)
    assert caught.value.message == (
        f'the lesson overlaps "Ann\'s serve" of {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC'
    )
    assert caught.value.detail == f"overlapped lesson: {taken.id}"
    assert caught.value.fields == {"start_time": "overlaps another lesson"}


def test_moving_a_lesson_onto_another_names_the_other_in_the_coachs_time_zone(
    svc, single, ann, bob, pg, coach
):
    pg.admin.execute("update coaches set timezone = 'Europe/Paris' where id = %s", (coach.id,))
    start = datetime(2031, 7, 1, 8, 0, tzinfo=UTC)
    svc.lessons.create(
        client_ids=[ann.id], start_time=start, lesson_type_id=single.id, title="Morning"
    )
    later = svc.lessons.create(
        client_ids=[bob.id], start_time=start + timedelta(hours=3), lesson_type_id=single.id
    )

    with pytest.raises(DoubleBooking) as caught:
        svc.lessons.update(later.id, start_time=start + timedelta(minutes=15))

    assert caught.value.message == (
        'the lesson overlaps "Morning" of 2031-07-01 10:00 to 11:00 Europe/Paris'
    )


def test_a_direct_write_that_overlaps_names_the_rule_not_the_constraint():
    error = from_database_error(
        "23P01", 'conflicting key value violates exclusion constraint "lessons_no_overlap"'
    )

    assert error.message == "the lesson overlaps another lesson of this coach that is not cancelled"
    assert error.fields == {"start_time": "overlaps another lesson"}


def test_a_known_unique_constraint_becomes_its_field():
    error = from_database_error(
        "23505",
        'duplicate key value violates unique constraint "lesson_participants_lesson_client_key"',
    )

    assert error.fields == {"client_ids": "the client is already in the lesson"}


def test_an_unknown_unique_constraint_is_not_named():
    error = from_database_error(
        "23505", 'duplicate key value violates unique constraint "some_table_col_key"'
    )

    assert error.message == "a row with these values already exists"
    assert isinstance(error, Duplicate)


def test_a_message_the_function_words_itself_passes_unchanged():
    text = "the lesson of 2026-12-07 17:00 Europe/Paris overlaps another lesson"

    assert from_database_error("23P01", text, hint="lesson_overlap").message == text

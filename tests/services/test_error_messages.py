"""Database refusals reach callers in this layer's words: fields and times, no constraint names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.errors import DoubleBooking, Duplicate, from_database_error
from tests.services.support import hours_from_now


def test_a_duplicate_lesson_type_name_names_the_field_and_the_value(svc):
    svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=5000)

    with pytest.raises(Duplicate) as caught:
        svc.lesson_types.create(name="Single", duration_minutes=30, price_cents=3000)

    assert caught.value.message == "a lesson type with this name already exists"
    assert caught.value.fields == {"name": "a lesson type with this name already exists"}


def test_an_overlapping_lesson_names_the_field_not_the_constraint(svc, single, ann, bob):
    start = hours_from_now(24)
    svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)

    with pytest.raises(DoubleBooking) as caught:
        svc.lessons.create(
            client_ids=[bob.id], start_time=start + timedelta(minutes=30), lesson_type_id=single.id
        )

    assert caught.value.message == (
        "the lesson overlaps another lesson of this coach that is not cancelled"
    )
    assert caught.value.fields == {"start_time": "overlaps another lesson"}


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

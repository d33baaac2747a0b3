"""Lesson types through the direct gateway."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import Duplicate, NotFound, ValidationError


def test_coach_creates_a_lesson_type_with_its_rules(svc, coach):
    lt = svc.lesson_types.create(
        name="Group", duration_minutes=90, price_cents=2500, max_participants=4
    )

    assert (lt.coach_id, lt.duration_minutes, lt.price_cents, lt.max_participants) == (
        coach.id,
        90,
        2500,
        4,
    )


def test_a_lesson_type_name_is_unique_per_coach(svc):
    svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=5000)

    with pytest.raises(Duplicate):
        svc.lesson_types.create(name="Single", duration_minutes=30, price_cents=3000)


def test_two_coaches_may_use_the_same_lesson_type_name(new_coach, svc, services_for):
    services_for(new_coach()).lesson_types.create(name="Single", duration_minutes=60, price_cents=1)

    assert (
        svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=1).name == "Single"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 1441}, "duration_minutes"),
        ({"price_cents": -1}, "price_cents"),
        ({"max_participants": 0}, "max_participants"),
        ({"name": " "}, "name"),
    ],
)
def test_out_of_range_values_fail_before_the_round_trip(offline, fields, field):
    data = {"name": "Single", "duration_minutes": 60, "price_cents": 100, **fields}

    with pytest.raises(ValidationError) as caught:
        offline.lesson_types.create(data)

    assert list(caught.value.fields) == [field]


def test_update_and_deactivate_a_lesson_type(svc):
    lt = svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=5000)

    svc.lesson_types.update(lt.id, price_cents=5500)
    svc.lesson_types.deactivate(lt.id)

    stored = svc.lesson_types.get(lt.id)
    assert (stored.price_cents, stored.is_active) == (5500, False)
    assert svc.lesson_types.list().items == []


def test_updating_a_missing_lesson_type_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.lesson_types.update(uuid.uuid4(), price_cents=1)


def test_renaming_onto_an_existing_name_is_a_duplicate(svc):
    svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=1)
    other = svc.lesson_types.create(name="Pair", duration_minutes=60, price_cents=1)

    with pytest.raises(Duplicate):
        svc.lesson_types.update(other.id, name="Single")


def test_deleting_a_lesson_type_then_getting_it_is_not_found(svc):
    lt = svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=1)

    svc.lesson_types.delete(lt.id)

    with pytest.raises(NotFound):
        svc.lesson_types.get(lt.id)

"""Lessons through the direct gateway: every operation and every refusal, as typed errors."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.errors import (
    CapacityExceeded,
    DoubleBooking,
    LessonNotEditable,
    LessonTypeInactive,
    NotFound,
    PaidParticipantRemoval,
    TooManyOccurrences,
    ValidationError,
)
from tests.services.support import hours_from_now


def test_create_makes_one_lesson_with_a_charge_per_client(svc, pair, ann, bob):
    lesson = svc.lessons.create(
        client_ids=[ann.id, bob.id], start_time=hours_from_now(24), lesson_type_id=pair.id
    )

    charges = svc.lessons.participants(lesson.id)
    assert lesson.status == "scheduled"
    assert sorted((c.client_id, c.price_cents) for c in charges) == sorted(
        [(ann.id, 3000), (bob.id, 3000)]
    )


def test_end_time_and_price_default_from_the_lesson_type(svc, single, ann):
    start = hours_from_now(24)

    lesson = svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)

    assert (lesson.end_time - lesson.start_time, lesson.price_cents) == (timedelta(hours=1), 5000)


def test_times_round_trip_as_the_same_instant_whatever_the_offset(svc, ann):
    paris = ZoneInfo("Europe/Paris")
    start = hours_from_now(48).astimezone(paris)

    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=start, end_time=start + timedelta(minutes=45)
    )

    assert lesson.start_time == start and lesson.start_time.tzinfo is not None


def test_a_naive_start_time_is_refused_before_the_round_trip(offline):
    with pytest.raises(ValidationError) as caught:
        offline.lessons.create(
            client_ids=[uuid.uuid4()],
            start_time=datetime(2030, 1, 1, 10),
            end_time=datetime(2030, 1, 1, 11),
        )

    assert "start_time" in caught.value.fields


def test_end_before_start_is_refused_before_the_round_trip(offline):
    start = hours_from_now(24)

    with pytest.raises(ValidationError, match="end_time must be after start_time"):
        offline.lessons.create(
            client_ids=[uuid.uuid4()], start_time=start, end_time=start - timedelta(hours=1)
        )


def test_a_client_listed_twice_is_refused_before_the_round_trip(offline):
    twice = uuid.uuid4()

    with pytest.raises(ValidationError) as caught:
        offline.lessons.create(
            client_ids=[twice, twice], start_time=hours_from_now(1), end_time=hours_from_now(2)
        )

    assert "client_ids" in caught.value.fields


def test_overlapping_lessons_are_a_double_booking(svc, single, ann, bob):
    start = hours_from_now(24)
    svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)

    with pytest.raises(DoubleBooking):
        svc.lessons.create(
            client_ids=[bob.id], start_time=start + timedelta(minutes=30), lesson_type_id=single.id
        )


def test_a_cancelled_lesson_frees_its_slot(svc, single, ann, bob):
    start = hours_from_now(24)
    first = svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)
    svc.lessons.cancel(first.id, reason="rain")

    again = svc.lessons.create(client_ids=[bob.id], start_time=start, lesson_type_id=single.id)

    assert again.start_time == start


def test_more_clients_than_the_lesson_type_takes_is_capacity_exceeded(svc, single, ann, bob):
    with pytest.raises(CapacityExceeded):
        svc.lessons.create(
            client_ids=[ann.id, bob.id], start_time=hours_from_now(24), lesson_type_id=single.id
        )


def test_an_inactive_lesson_type_can_not_be_booked(svc, single, ann):
    svc.lesson_types.deactivate(single.id)

    with pytest.raises(LessonTypeInactive):
        svc.lessons.create(
            client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
        )


def test_another_coachs_client_is_not_found(new_coach, svc, services_for, single):
    theirs = services_for(new_coach()).clients.create(first_name="Eve")

    with pytest.raises(NotFound):
        svc.lessons.create(
            client_ids=[theirs.id], start_time=hours_from_now(24), lesson_type_id=single.id
        )


def test_update_moves_a_lesson_and_keeps_its_duration(svc, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
    )
    later = hours_from_now(30)

    moved = svc.lessons.update(lesson.id, start_time=later)

    assert (moved.start_time, moved.end_time) == (later, later + timedelta(hours=1))


def test_update_with_a_client_list_replaces_the_participants(svc, pair, ann, bob):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=pair.id
    )

    svc.lessons.update(lesson.id, client_ids=[bob.id])

    assert [p.client_id for p in svc.lessons.participants(lesson.id)] == [bob.id]


def test_updating_a_missing_lesson_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.lessons.update(uuid.uuid4(), title="Ghost")


def test_a_cancelled_lesson_is_not_editable(svc, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
    )
    svc.lessons.cancel(lesson.id)

    with pytest.raises(LessonNotEditable):
        svc.lessons.update(lesson.id, title="Too late")


def test_cancel_waives_unpaid_charges_and_records_the_reason(svc, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
    )

    cancelled = svc.lessons.cancel(lesson.id, reason="sick")

    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "sick")
    assert [p.payment_status for p in svc.lessons.participants(lesson.id)] == ["waived"]


def test_cancelling_twice_is_not_editable(svc, single, ann):
    lesson = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id
    )
    svc.lessons.cancel(lesson.id)

    with pytest.raises(LessonNotEditable):
        svc.lessons.cancel(lesson.id)


def test_complete_records_who_was_absent(svc, pair, ann, bob):
    lesson = svc.lessons.create(
        client_ids=[ann.id, bob.id], start_time=hours_from_now(-3), lesson_type_id=pair.id
    )

    done = svc.lessons.complete(lesson.id, absent_client_ids=[bob.id])

    attended = {p.client_id: p.attended for p in svc.lessons.participants(lesson.id)}
    assert done.status == "completed" and attended == {ann.id: True, bob.id: False}


def test_completing_a_missing_lesson_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.lessons.complete(uuid.uuid4())


def test_a_paid_participant_can_not_be_removed(svc, pair, ann, bob):
    lesson = svc.lessons.create(
        client_ids=[ann.id, bob.id], start_time=hours_from_now(-3), lesson_type_id=pair.id
    )
    charge = next(p for p in svc.lessons.participants(lesson.id) if p.client_id == ann.id)
    svc.payments.record(client_id=ann.id, participant_ids=[charge.id], method="cash")

    with pytest.raises(PaidParticipantRemoval):
        svc.lessons.update(lesson.id, client_ids=[bob.id])


def test_a_recurring_series_keeps_its_wall_clock_time_across_daylight_saving(svc, single, ann):
    paris = ZoneInfo("Europe/Paris")
    first = datetime(2027, 3, 15, 10, 0, tzinfo=paris)  # Paris moves to summer time on 2027-03-28

    lessons = svc.lessons.create_recurring(
        client_ids=[ann.id],
        first_start_time=first,
        duration_minutes=60,
        frequency="weekly",
        occurrences=4,
        lesson_type_id=single.id,
        timezone="Europe/Paris",
    )

    local = [lesson.start_time.astimezone(paris) for lesson in lessons]
    assert [t.hour for t in local] == [10, 10, 10, 10]
    assert {t.utcoffset() for t in local} == {timedelta(hours=1), timedelta(hours=2)}
    assert all(lesson.is_recurring and lesson.recurring_lesson_id for lesson in lessons)


def test_a_series_of_more_than_104_lessons_is_refused_before_the_round_trip(offline):
    with pytest.raises(ValidationError) as caught:
        offline.lessons.create_recurring(
            client_ids=[uuid.uuid4()],
            first_start_time=hours_from_now(24),
            duration_minutes=60,
            frequency="weekly",
            occurrences=105,
        )

    assert "occurrences" in caught.value.fields


def test_a_series_whose_end_date_makes_more_than_104_lessons_is_too_many(svc, ann):
    start = hours_from_now(24)

    with pytest.raises(TooManyOccurrences):
        svc.lessons.create_recurring(
            client_ids=[ann.id],
            first_start_time=start,
            duration_minutes=60,
            frequency="weekly",
            until_date=date(start.year + 3, 1, 1),
        )


def test_one_conflict_fails_the_whole_series_and_names_the_time(svc, single, ann, bob):
    start = hours_from_now(24)
    svc.lessons.create(
        client_ids=[bob.id], start_time=start + timedelta(weeks=2), lesson_type_id=single.id
    )

    with pytest.raises(DoubleBooking) as caught:
        svc.lessons.create_recurring(
            client_ids=[ann.id],
            first_start_time=start,
            duration_minutes=60,
            frequency="weekly",
            occurrences=4,
        )

    assert str((start + timedelta(weeks=2)).year) in str(caught.value)
    window = {"start": start - timedelta(days=1), "end": start + timedelta(weeks=5)}
    assert len(svc.reads.calendar(window).items) == 1


def test_an_unknown_time_zone_is_refused_before_the_round_trip(offline):
    with pytest.raises(ValidationError) as caught:
        offline.lessons.create_recurring(
            client_ids=[uuid.uuid4()],
            first_start_time=hours_from_now(24),
            duration_minutes=60,
            frequency="weekly",
            occurrences=2,
            timezone="Mars/Olympus",
        )

    assert "timezone" in caught.value.fields


def test_cancel_recurring_cancels_the_lessons_from_a_time_and_counts_them(svc, single, ann):
    start = hours_from_now(24)
    lessons = svc.lessons.create_recurring(
        client_ids=[ann.id],
        first_start_time=start,
        duration_minutes=60,
        frequency="biweekly",
        occurrences=3,
        lesson_type_id=single.id,
    )

    count = svc.lessons.cancel_recurring(
        lessons[0].recurring_lesson_id, from_time=lessons[1].start_time
    )

    statuses = [svc.lessons.get(lesson.id).status for lesson in lessons]
    assert (count, statuses) == (2, ["scheduled", "cancelled", "cancelled"])


def test_cancelling_a_missing_series_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.lessons.cancel_recurring(uuid.uuid4())

"""Reads through the direct gateway: dashboard, balances, history, calendar, profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.errors import NotFound, ValidationError
from tests.services.support import hours_from_now


def test_profile_is_the_callers_own_coach_row(svc, coach):
    profile = svc.reads.profile()

    assert (profile.id, profile.email, profile.timezone) == (coach.id, coach.email, "UTC")


def test_dashboard_counts_clients_outstanding_money_and_upcoming_lessons(svc, single, ann, bob):
    svc.lessons.create(client_ids=[ann.id], start_time=hours_from_now(-3), lesson_type_id=single.id)
    svc.lessons.create(client_ids=[bob.id], start_time=hours_from_now(24), lesson_type_id=single.id)

    board = svc.reads.dashboard()

    assert (board.active_clients, board.outstanding_cents, board.clients_with_balance) == (
        2,
        5000,
        1,
    )
    assert board.lessons_next_7_days == 1


def test_balances_list_every_client_even_at_zero(svc, single, ann, bob):
    svc.lessons.create(client_ids=[ann.id], start_time=hours_from_now(-3), lesson_type_id=single.id)

    balances = {b.client_id: b.unpaid_cents for b in svc.reads.balances().items}
    owing = [b.client_id for b in svc.reads.balances(only_owing=True).items]

    assert balances == {ann.id: 5000, bob.id: 0} and owing == [ann.id]


def test_the_balance_of_another_coachs_client_is_not_found(new_coach, svc, services_for):
    theirs = services_for(new_coach()).clients.create(first_name="Eve")

    with pytest.raises(NotFound):
        svc.reads.balance(theirs.id)


def test_history_shows_started_lessons_newest_first(svc, single, ann):
    older = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(-50), lesson_type_id=single.id
    )
    newer = svc.lessons.create(
        client_ids=[ann.id], start_time=hours_from_now(-5), lesson_type_id=single.id
    )
    svc.lessons.create(client_ids=[ann.id], start_time=hours_from_now(24), lesson_type_id=single.id)

    history = svc.reads.history(ann.id).items

    assert [h.lesson_id for h in history] == [newer.id, older.id]
    assert (history[0].lesson_type_name, history[0].payment_status) == ("Single", "unpaid")


def test_history_limit_is_bounded(offline):
    with pytest.raises(ValidationError):
        offline.reads.history(limit=0)


def test_the_calendar_shows_lessons_overlapping_the_window_without_cancelled_ones(svc, single, ann):
    start = hours_from_now(24)
    inside = svc.lessons.create(client_ids=[ann.id], start_time=start, lesson_type_id=single.id)
    cancelled = svc.lessons.create(
        client_ids=[ann.id], start_time=start + timedelta(hours=2), lesson_type_id=single.id
    )
    svc.lessons.cancel(cancelled.id)
    svc.lessons.create(
        client_ids=[ann.id], start_time=start + timedelta(days=3), lesson_type_id=single.id
    )

    window = {"start": start - timedelta(minutes=30), "end": start + timedelta(hours=4)}

    assert [lesson.id for lesson in svc.reads.calendar(window).items] == [inside.id]
    assert len(svc.reads.calendar(window, include_cancelled=True).items) == 2


def test_a_calendar_window_must_end_after_it_starts(offline):
    start = hours_from_now(0)

    with pytest.raises(ValidationError):
        offline.reads.calendar(start=start, end=start)

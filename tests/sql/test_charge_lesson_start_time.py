"""A charge's copy of its lesson's start time: always the lesson's, whoever writes what.

It is what makes client_balances.last_lesson_at one index probe, so a stale
copy would be a wrong page: these tests try to make it stale.
"""

from __future__ import annotations

import pytest

from tests.sql.conftest import NOW, book, hours, make_client, raises_sql, rpc_one, scalar


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _copies(pg, lesson_id):
    rows = pg.admin.execute(
        "select lesson_start_time from public.lesson_participants where lesson_id = %s",
        (lesson_id,),
    ).fetchall()
    return {row[0] for row in rows}


def test_a_new_charge_carries_its_lessons_start_time(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach), make_client(pg, coach, "Bo")], NOW + hours(5))

    assert _copies(pg, lesson["id"]) == {lesson["start_time"]}


def test_a_moved_lesson_takes_its_charges_along(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], NOW + hours(5))
    moved_to = NOW + hours(50)

    with pg.as_coach(coach) as c:
        rpc_one(
            c,
            "update_lesson",
            p_lesson_id=lesson["id"],
            p_start_time=moved_to,
            p_end_time=moved_to + hours(1),
        )

    assert _copies(pg, lesson["id"]) == {moved_to}


def test_a_coach_can_not_write_the_copy_directly(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], NOW + hours(5))

    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "update public.lesson_participants set lesson_start_time = %s where lesson_id = %s",
            (NOW - hours(1000), lesson["id"]),
        )

    assert _copies(pg, lesson["id"]) == {lesson["start_time"]}


def test_a_written_copy_is_replaced_by_the_lessons_start_time(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], NOW + hours(5))
    client = make_client(pg, coach, "Cy")
    pg.admin.execute(
        "update public.lesson_types set max_participants = 5 where coach_id = %s", (coach.id,)
    )

    pg.admin.execute(
        "insert into public.lesson_participants (lesson_id, client_id, coach_id, price_cents,"
        " lesson_start_time) values (%s, %s, %s, 100, %s)",
        (lesson["id"], client, coach.id, NOW - hours(1000)),
    )

    assert _copies(pg, lesson["id"]) == {lesson["start_time"]}


def test_last_lesson_is_the_latest_started_one_that_is_not_cancelled(pg, coach):
    client = make_client(pg, coach)
    book(pg, coach, [client], NOW - hours(72))
    latest = book(pg, coach, [client], NOW - hours(24))
    cancelled = book(pg, coach, [client], NOW - hours(3))
    book(pg, coach, [client], NOW + hours(24))
    with pg.as_coach(coach) as c:
        rpc_one(c, "cancel_lesson", p_lesson_id=cancelled["id"])

    last = scalar(
        pg, "select last_lesson_at from public.client_balances where client_id = %s", client
    )

    assert last == latest["start_time"]


def test_last_lesson_follows_a_lesson_moved_into_the_past(pg, coach):
    client = make_client(pg, coach)
    book(pg, coach, [client], NOW - hours(72))
    future = book(pg, coach, [client], NOW + hours(24))
    moved_to = NOW - hours(2)

    with pg.as_coach(coach) as c:
        rpc_one(
            c,
            "update_lesson",
            p_lesson_id=future["id"],
            p_start_time=moved_to,
            p_end_time=moved_to + hours(1),
        )

    last = scalar(
        pg, "select last_lesson_at from public.client_balances where client_id = %s", client
    )
    assert last == moved_to


def test_no_api_role_can_call_the_definer_trigger_function(pg, coach):
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("select private.move_charges_with_lesson()")


def test_moving_a_lesson_touches_no_other_lessons_charges(pg, coach):
    other = pg.sign_up()
    mine = book(pg, coach, [make_client(pg, coach)], NOW + hours(5))
    theirs = book(pg, other, [make_client(pg, other)], NOW + hours(5))
    moved_to = NOW + hours(30)

    with pg.as_coach(coach) as c:
        rpc_one(
            c,
            "update_lesson",
            p_lesson_id=mine["id"],
            p_start_time=moved_to,
            p_end_time=moved_to + hours(1),
        )

    assert _copies(pg, theirs["id"]) == {theirs["start_time"]}
    assert _copies(pg, mine["id"]) == {moved_to}

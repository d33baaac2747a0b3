"""create_recurring_lessons and cancel_recurring_lessons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.sql.conftest import (
    NOW,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    raises_sql,
    rpc,
    scalar,
)

NEW_YORK = ZoneInfo("America/New_York")
# Tuesday 19 October 2027, 17:00 in New York (EDT); clocks fall back on 7 November.
FIRST = datetime(2027, 10, 19, 17, 0, tzinfo=NEW_YORK)


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _series(pg, coach, client_ids, **params):
    call = {
        "p_client_ids": client_ids,
        "p_first_start_time": FIRST,
        "p_duration_minutes": 60,
        "p_frequency": "weekly",
        "p_occurrences": 4,
        "p_timezone": "America/New_York",
        **params,
    }
    with pg.as_coach(coach) as c:
        cur = c.execute(
            "select id, start_time, end_time, recurring_lesson_id, is_recurring from"
            " create_recurring_lessons(" + ", ".join(f"{k} => %({k})s" for k in call) + ")",
            call,
        )
        return cur.fetchall()


def _nothing_written(pg):
    assert count(pg, "recurring_lessons") == 0
    assert count(pg, "lessons") == 0
    assert count(pg, "lesson_participants") == 0


def test_weekly_lesson_keeps_local_time_across_daylight_saving_change(pg, coach):
    rows = _series(pg, coach, [make_client(pg, coach)])
    local = [r[1].astimezone(NEW_YORK) for r in rows]
    assert [(t.date(), t.hour, t.minute) for t in local] == [
        (date(2027, 10, 19), 17, 0),
        (date(2027, 10, 26), 17, 0),
        (date(2027, 11, 2), 17, 0),
        (date(2027, 11, 9), 17, 0),
    ]
    utc_hours = [r[1].astimezone(UTC).hour for r in rows]
    assert utc_hours == [21, 21, 21, 22]  # EDT until 7 November, then EST
    assert all(r[2] - r[1] == timedelta(hours=1) for r in rows)


def test_series_time_zone_defaults_to_the_coachs(pg, coach):
    pg.admin.execute("update coaches set timezone = 'America/New_York' where id = %s", (coach.id,))
    rows = _series(pg, coach, [make_client(pg, coach)], p_timezone=None)
    assert [r[1].astimezone(NEW_YORK).hour for r in rows] == [17] * 4
    assert scalar(pg, "select timezone from recurring_lessons") == "America/New_York"


def test_series_lessons_point_back_to_the_series_with_participants(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lt = make_lesson_type(pg, coach, "Duo", max_participants=2, price_cents=3000)
    rows = _series(pg, coach, [ann, bob], p_lesson_type_id=lt)
    series_id = scalar(pg, "select id from recurring_lessons")
    assert {r[3] for r in rows} == {series_id}
    assert all(r[4] for r in rows)
    assert count(pg, "lesson_participants", "price_cents = 3000") == 8
    assert scalar(pg, "select occurrences from recurring_lessons") == 4


def test_biweekly_until_date_includes_the_last_day(pg, coach):
    rows = _series(
        pg,
        coach,
        [make_client(pg, coach)],
        p_frequency="biweekly",
        p_occurrences=None,
        p_until_date=date(2027, 11, 16),
    )
    assert [r[1].astimezone(NEW_YORK).date() for r in rows] == [
        date(2027, 10, 19),
        date(2027, 11, 2),
        date(2027, 11, 16),
    ]


def test_series_of_104_lessons_is_allowed(pg, coach):
    assert len(_series(pg, coach, [make_client(pg, coach)], p_occurrences=104)) == 104


@pytest.mark.parametrize(
    "params",
    [{"p_occurrences": 105}, {"p_occurrences": None, "p_until_date": date(2030, 1, 1)}],
)
def test_series_of_more_than_104_lessons_is_refused(pg, coach, params):
    with raises_sql("CB010", "too_many_occurrences"):
        _series(pg, coach, [make_client(pg, coach)], **params)
    _nothing_written(pg)


def test_series_refuses_invalid_arguments(pg, coach):
    client = make_client(pg, coach)
    for client_ids, params in [
        ([client], {"p_frequency": "daily"}),
        ([client], {"p_duration_minutes": 0}),
        ([client], {"p_occurrences": None}),
        ([client], {"p_occurrences": 0}),
        ([client], {"p_timezone": "Atlantis/Capital"}),
        ([client], {"p_occurrences": None, "p_until_date": date(2027, 10, 1)}),
        ([], {}),
    ]:
        with raises_sql("CB002", "invalid_argument"):
            _series(pg, coach, client_ids, **params)
        _nothing_written(pg)


def test_series_refuses_client_of_another_coach(pg, coach):
    other = pg.sign_up()
    with raises_sql("CB001", "not_found"):
        _series(pg, coach, [make_client(pg, other)])
    _nothing_written(pg)


def test_series_refuses_inactive_lesson_type(pg, coach):
    lt = make_lesson_type(pg, coach, is_active=False)
    with raises_sql("CB003", "lesson_type_inactive"):
        _series(pg, coach, [make_client(pg, coach)], p_lesson_type_id=lt)
    _nothing_written(pg)


def test_series_with_one_conflict_fails_whole_and_names_the_time(pg, coach):
    client = make_client(pg, coach)
    # an existing lesson at the third occurrence (2 November 2027, 17:30 New York)
    book(pg, coach, [client], datetime(2027, 11, 2, 17, 30, tzinfo=NEW_YORK), minutes=30)
    with raises_sql("23P01", "lesson_overlap") as info:
        _series(pg, coach, [client])
    assert "2027-11-02 17:00 America/New_York" in str(info.value)
    assert count(pg, "recurring_lessons") == 0
    assert count(pg, "lessons") == 1


def test_cancelled_lesson_does_not_conflict_with_a_series(pg, coach):
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], datetime(2027, 11, 2, 17, 0, tzinfo=NEW_YORK))
    pg.admin.execute("update lessons set status = 'cancelled' where id = %s", (lesson["id"],))
    assert len(_series(pg, coach, [client])) == 4


# cancel_recurring_lessons


def test_cancel_series_from_a_date_cancels_later_lessons_and_counts_them(pg, coach):
    client = make_client(pg, coach)
    _series(pg, coach, [client])
    series_id = scalar(pg, "select id from recurring_lessons")
    with pg.as_coach(coach) as c:
        [(n,)] = rpc(
            c,
            "cancel_recurring_lessons",
            p_recurring_lesson_id=series_id,
            p_from=datetime(2027, 11, 1, tzinfo=UTC),
        )
    assert n == 2
    assert count(pg, "lessons", "status = 'cancelled' and start_time >= '2027-11-01'") == 2
    assert count(pg, "lessons", "status = 'scheduled' and start_time < '2027-11-01'") == 2
    assert count(pg, "lesson_participants", "payment_status = 'waived'") == 2
    assert scalar(pg, "select is_active from recurring_lessons") is True


def test_cancel_whole_series_deactivates_it(pg, coach):
    _series(pg, coach, [make_client(pg, coach)])
    series_id = scalar(pg, "select id from recurring_lessons")
    with pg.as_coach(coach) as c:
        [(n,)] = rpc(c, "cancel_recurring_lessons", p_recurring_lesson_id=series_id)
    assert n == 4
    assert scalar(pg, "select is_active from recurring_lessons") is False


def test_cancel_series_of_another_coach_is_refused(pg, coach):
    other = pg.sign_up()
    _series(pg, other, [make_client(pg, other)])
    series_id = scalar(pg, "select id from recurring_lessons")
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc(
            c,
            "cancel_recurring_lessons",
            p_recurring_lesson_id=series_id,
            p_from=NOW - hours(10**5),
        )
    assert count(pg, "lessons", "status = 'scheduled'") == 4


def test_series_refuses_more_clients_than_capacity(pg, coach):
    clients = [make_client(pg, coach, n) for n in ("Ann", "Bob")]
    lt = make_lesson_type(pg, coach, max_participants=1)
    with raises_sql("CB004", "capacity_exceeded"):
        _series(pg, coach, clients, p_lesson_type_id=lt)
    _nothing_written(pg)


def test_series_refuses_a_client_twice(pg, coach):
    client = make_client(pg, coach)
    with raises_sql("CB005", "duplicate_participant"):
        _series(pg, coach, [client, client])
    _nothing_written(pg)


def test_series_racing_a_booking_fails_whole_with_lesson_overlap(pg, coach):
    from tests.sql.conftest import Session, run_in_thread, wait_until_blocked

    client = make_client(pg, coach)
    booking, series = Session(pg, coach.principal), Session(pg, coach.principal)
    slot = datetime(2027, 11, 2, 17, 0, tzinfo=NEW_YORK)
    try:
        booking.conn.execute(
            "select create_lesson_with_participants(%s, %s, %s)", ([client], slot, slot + hours(1))
        )
        thread, out = run_in_thread(
            lambda: series.conn.execute(
                "select create_recurring_lessons(p_client_ids => %s, p_first_start_time => %s,"
                " p_duration_minutes => 60, p_frequency => 'weekly', p_occurrences => 4,"
                " p_timezone => 'America/New_York')",
                ([client], FIRST),
            )
        )
        wait_until_blocked(pg, series.pid)
        booking.conn.execute("commit")
        thread.join(10)
    finally:
        booking.close()
        series.close()
    error = out.get("error")
    assert error is not None and error.sqlstate == "23P01"
    assert error.diag.message_hint == "lesson_overlap"
    assert count(pg, "recurring_lessons") == 0
    assert count(pg, "lessons") == 1


def test_cancel_series_refuses_a_missing_from(pg, coach):
    _series(pg, coach, [make_client(pg, coach)])
    series_id = scalar(pg, "select id from recurring_lessons")
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        rpc(c, "cancel_recurring_lessons", p_recurring_lesson_id=series_id, p_from=None)
    assert count(pg, "lessons", "status = 'scheduled'") == 4

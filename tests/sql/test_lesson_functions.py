"""create_lesson_with_participants, update_lesson, cancel_lesson, complete_lesson."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from backend.db.impersonation import Principal
from tests.sql.conftest import (
    NOW,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    participant_ids,
    raises_sql,
    rpc_one,
    scalar,
)

START = NOW + hours(48)


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _create(pg, coach, **params):
    with pg.as_coach(coach) as c:
        return rpc_one(c, "create_lesson_with_participants", **params)


def _nothing_written(pg):
    assert count(pg, "lessons") == 0
    assert count(pg, "lesson_participants") == 0


# create_lesson_with_participants


def test_create_lesson_takes_end_price_and_title_from_lesson_type(pg, coach):
    client = make_client(pg, coach)
    lt = make_lesson_type(pg, coach, "Private", duration_minutes=45, price_cents=4200)
    lesson = _create(pg, coach, p_client_ids=[client], p_start_time=START, p_lesson_type_id=lt)
    assert lesson["end_time"] - lesson["start_time"] == timedelta(minutes=45)
    assert (lesson["price_cents"], lesson["title"], lesson["client_id"]) == (
        4200,
        "Private",
        client,
    )
    assert lesson["status"] == "scheduled"
    rows = pg.admin.execute(
        "select client_id, price_cents, payment_status from lesson_participants where"
        " lesson_id = %s",
        (lesson["id"],),
    ).fetchall()
    assert rows == [(client, 4200, "unpaid")]


def test_create_group_lesson_has_one_participant_per_client_and_no_single_client(pg, coach):
    clients = [make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid")]
    lt = make_lesson_type(pg, coach, "Group", max_participants=3)
    lesson = _create(
        pg, coach, p_client_ids=clients, p_start_time=START, p_lesson_type_id=lt, p_price_cents=1500
    )
    assert lesson["client_id"] is None
    assert (
        count(pg, "lesson_participants", "lesson_id = %s and price_cents = 1500", lesson["id"]) == 3
    )


def test_create_lesson_refuses_client_of_another_coach(pg, coach):
    other = pg.sign_up()
    mine, theirs = make_client(pg, coach), make_client(pg, other)
    with raises_sql("CB001", "not_found"):
        _create(
            pg, coach, p_client_ids=[mine, theirs], p_start_time=START, p_end_time=START + hours(1)
        )
    _nothing_written(pg)


def test_create_lesson_answers_the_same_for_unknown_and_foreign_ids(pg, coach):
    other = pg.sign_up()
    foreign_type = make_lesson_type(pg, other)
    client = make_client(pg, coach)
    errors = []
    for type_id in (foreign_type, uuid.uuid4()):
        with raises_sql("CB001", "not_found") as info:
            _create(pg, coach, p_client_ids=[client], p_start_time=START, p_lesson_type_id=type_id)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    _nothing_written(pg)


def test_create_lesson_refuses_inactive_lesson_type(pg, coach):
    client = make_client(pg, coach)
    lt = make_lesson_type(pg, coach, is_active=False)
    with raises_sql("CB003", "lesson_type_inactive"):
        _create(pg, coach, p_client_ids=[client], p_start_time=START, p_lesson_type_id=lt)
    _nothing_written(pg)


def test_create_lesson_refuses_more_clients_than_max_participants(pg, coach):
    clients = [make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid")]
    lt = make_lesson_type(pg, coach, max_participants=2)
    with raises_sql("CB004", "capacity_exceeded"):
        _create(pg, coach, p_client_ids=clients, p_start_time=START, p_lesson_type_id=lt)
    _nothing_written(pg)


def test_create_lesson_refuses_a_client_twice(pg, coach):
    client = make_client(pg, coach)
    with raises_sql("CB005", "duplicate_participant"):
        _create(
            pg,
            coach,
            p_client_ids=[client, client],
            p_start_time=START,
            p_end_time=START + hours(1),
        )
    _nothing_written(pg)


def test_create_lesson_refuses_invalid_arguments(pg, coach):
    client = make_client(pg, coach)
    for params in [
        {"p_client_ids": []},
        {"p_client_ids": None},
        {"p_client_ids": [client, None]},
        {"p_start_time": None},
        {"p_end_time": None},  # no end and no lesson type
        {"p_end_time": START},  # end not after start
        {"p_price_cents": -1},
    ]:
        call = {
            "p_client_ids": [client],
            "p_start_time": START,
            "p_end_time": START + hours(1),
            **params,
        }
        with raises_sql("CB002", "invalid_argument"):
            _create(pg, coach, **call)
        _nothing_written(pg)


def test_create_lesson_refuses_overlap_and_writes_nothing(pg, coach):
    client = make_client(pg, coach)
    book(pg, coach, [client], START)
    with raises_sql("23P01"):
        _create(
            pg,
            coach,
            p_client_ids=[client],
            p_start_time=START + hours(0.5),
            p_end_time=START + hours(2),
        )
    assert count(pg, "lessons") == 1
    assert count(pg, "lesson_participants") == 1


# update_lesson


def test_update_lesson_moves_it_and_keeps_its_duration(pg, coach):
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], START, minutes=90)
    with pg.as_coach(coach) as c:
        moved = rpc_one(
            c, "update_lesson", p_lesson_id=lesson["id"], p_start_time=START + hours(24)
        )
    assert moved["start_time"] == START + hours(24)
    assert moved["end_time"] == START + hours(24) + timedelta(minutes=90)
    assert moved["title"] == lesson["title"]


def test_update_lesson_replaces_participants(pg, coach):
    ann, bob, cid = (make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid"))
    lt = make_lesson_type(pg, coach, max_participants=3)
    lesson = book(pg, coach, [ann, bob], START, lesson_type_id=lt)
    with pg.as_coach(coach) as c:
        updated = rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_client_ids=[cid])
    clients = pg.admin.execute(
        "select client_id, price_cents from lesson_participants where lesson_id = %s",
        (lesson["id"],),
    ).fetchall()
    assert clients == [(cid, 5000)]
    assert updated["client_id"] == cid


def test_update_lesson_refuses_lesson_of_another_coach(pg, coach):
    other = pg.sign_up()
    lesson = book(pg, other, [make_client(pg, other)], START)
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_title="mine now")
    assert scalar(pg, "select title from lessons where id = %s", lesson["id"]) is None


def test_update_lesson_refuses_client_of_another_coach(pg, coach):
    other = pg.sign_up()
    lesson = book(pg, coach, [make_client(pg, coach)], START)
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc_one(
            c,
            "update_lesson",
            p_lesson_id=lesson["id"],
            p_client_ids=[make_client(pg, other)],
            p_title="changed",
        )
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 1
    assert scalar(pg, "select title from lessons where id = %s", lesson["id"]) is None


def test_update_lesson_refuses_cancelled_lesson(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], START)
    pg.admin.execute("update lessons set status = 'cancelled' where id = %s", (lesson["id"],))
    with raises_sql("CB008", "lesson_not_editable"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_title="again")
    assert scalar(pg, "select title from lessons where id = %s", lesson["id"]) is None


def test_update_lesson_refuses_removing_a_paid_participant(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(pg, coach, [ann], NOW - hours(1), minutes=30)
    [pid] = participant_ids(pg, lesson["id"])
    with pg.as_coach(coach) as c:
        c.execute("select record_payment(%s, %s, 'cash')", (ann, [pid]))
    with raises_sql("CB009", "paid_participant_removal"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_client_ids=[bob], p_title="changed")
    assert (
        count(pg, "lesson_participants", "lesson_id = %s and client_id = %s", lesson["id"], ann)
        == 1
    )
    assert count(pg, "lesson_participants", "client_id = %s", bob) == 0


def test_update_lesson_refuses_end_before_start(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], START)
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_end_time=START - hours(1))
    assert scalar(pg, "select end_time from lessons where id = %s", lesson["id"]) == START + hours(
        1
    )


def test_update_lesson_refuses_overlap(pg, coach):
    client = make_client(pg, coach)
    book(pg, coach, [client], START)
    lesson = book(pg, coach, [client], START + hours(2))
    with raises_sql("23P01"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_start_time=START + hours(0.5))
    assert scalar(
        pg, "select start_time from lessons where id = %s", lesson["id"]
    ) == START + hours(2)


# cancel_lesson


def test_cancel_lesson_waives_unpaid_and_keeps_paid(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lt = make_lesson_type(pg, coach, max_participants=2)
    lesson = book(pg, coach, [ann, bob], NOW - hours(1), minutes=30, lesson_type_id=lt)
    ann_charge = scalar(pg, "select id from lesson_participants where client_id = %s", ann)
    with pg.as_coach(coach) as c:
        c.execute("select record_payment(%s, %s, 'cash')", (ann, [ann_charge]))
        cancelled = rpc_one(c, "cancel_lesson", p_lesson_id=lesson["id"], p_reason="rain")
    assert (cancelled["status"], cancelled["cancellation_reason"]) == ("cancelled", "rain")
    assert cancelled["cancelled_at"] is not None
    statuses = dict(
        pg.admin.execute("select client_id, payment_status from lesson_participants").fetchall()
    )
    assert statuses == {ann: "paid", bob: "waived"}


def test_cancel_lesson_refuses_lesson_of_another_coach(pg, coach):
    other = pg.sign_up()
    lesson = book(pg, other, [make_client(pg, other)], START)
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc_one(c, "cancel_lesson", p_lesson_id=lesson["id"])
    assert count(pg, "lessons", "status = 'scheduled'") == 1
    assert count(pg, "lesson_participants", "payment_status = 'unpaid'") == 1


def test_cancel_lesson_refuses_a_completed_lesson(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], NOW - hours(2))
    pg.admin.execute("update lessons set status = 'completed' where id = %s", (lesson["id"],))
    with raises_sql("CB008", "lesson_not_editable"), pg.as_coach(coach) as c:
        rpc_one(c, "cancel_lesson", p_lesson_id=lesson["id"])
    assert count(pg, "lesson_participants", "payment_status = 'unpaid'") == 1


# complete_lesson


def test_complete_lesson_records_attendance(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lt = make_lesson_type(pg, coach, max_participants=2)
    lesson = book(pg, coach, [ann, bob], NOW - hours(2), lesson_type_id=lt)
    with pg.as_coach(coach) as c:
        done = rpc_one(c, "complete_lesson", p_lesson_id=lesson["id"], p_absent_client_ids=[bob])
    assert done["status"] == "completed"
    attended = dict(
        pg.admin.execute("select client_id, attended from lesson_participants").fetchall()
    )
    assert attended == {ann: True, bob: False}


def test_complete_lesson_refuses_absent_client_who_is_not_a_participant(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(pg, coach, [ann], NOW - hours(2))
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc_one(c, "complete_lesson", p_lesson_id=lesson["id"], p_absent_client_ids=[bob])
    assert count(pg, "lessons", "status = 'scheduled'") == 1
    assert count(pg, "lesson_participants", "attended is null") == 1


def test_complete_lesson_refuses_cancelled_lesson(pg, coach):
    lesson = book(pg, coach, [make_client(pg, coach)], NOW - hours(2))
    pg.admin.execute("update lessons set status = 'cancelled' where id = %s", (lesson["id"],))
    with raises_sql("CB008", "lesson_not_editable"), pg.as_coach(coach) as c:
        rpc_one(c, "complete_lesson", p_lesson_id=lesson["id"])
    assert count(pg, "lessons", "status = 'cancelled'") == 1


def test_update_lesson_refuses_more_clients_than_capacity(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(
        pg, coach, [ann], START, lesson_type_id=make_lesson_type(pg, coach, max_participants=1)
    )
    with raises_sql("CB004", "capacity_exceeded"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_client_ids=[ann, bob], p_title="x")
    assert count(pg, "lesson_participants") == 1
    assert scalar(pg, "select title from lessons") == "Private"


def test_update_lesson_refuses_a_client_twice(pg, coach):
    ann = make_client(pg, coach, "Ann")
    lesson = book(pg, coach, [ann], START)
    with raises_sql("CB005", "duplicate_participant"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_client_ids=[ann, ann])
    assert count(pg, "lesson_participants") == 1


def test_complete_lesson_refuses_lesson_of_another_coach(pg, coach):
    other = pg.sign_up()
    lesson = book(pg, other, [make_client(pg, other)], NOW - hours(2))
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc_one(c, "complete_lesson", p_lesson_id=lesson["id"])
    assert count(pg, "lessons", "status = 'scheduled'") == 1


COACH_FUNCTIONS = [
    ("create_lesson_with_participants", "p_client_ids => '{}', p_start_time => now()"),
    ("update_lesson", "p_lesson_id => gen_random_uuid()"),
    ("cancel_lesson", "p_lesson_id => gen_random_uuid()"),
    ("complete_lesson", "p_lesson_id => gen_random_uuid()"),
    (
        "create_recurring_lessons",
        "p_client_ids => '{}', p_first_start_time => now(), p_duration_minutes => 60,"
        " p_frequency => 'weekly', p_occurrences => 2",
    ),
    ("cancel_recurring_lessons", "p_recurring_lesson_id => gen_random_uuid()"),
    (
        "record_payment",
        "p_client_id => gen_random_uuid(), p_participant_ids => '{}', p_method => 'cash'",
    ),
]


def test_every_coach_function_refuses_a_caller_without_user(pg):
    for function, args in COACH_FUNCTIONS:
        for principal in (
            Principal("authenticated", {"role": "authenticated"}),
            Principal.service(),
        ):
            with (
                raises_sql("CB012", "not_authenticated"),
                pg.acting_as(principal, guard=False) as c,
            ):
                c.execute(f"select {function}({args})")
    assert count(pg, "lessons") == 0

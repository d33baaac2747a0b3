"""Rules that must hold when two transactions race: overlap and capacity."""

from __future__ import annotations

from datetime import timedelta

from tests.sql.conftest import (
    NOW,
    Session,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    raises_sql,
    run_in_thread,
    wait_until_blocked,
)

START = NOW + hours(48)


def _race(pg, first_sql, second_sql, first_params, second_params, principal):
    """The first transaction writes and holds; the second must wait for it, then gets its answer."""
    first, second = Session(pg, principal), Session(pg, principal)
    try:
        first.conn.execute(first_sql, first_params)
        thread, out = run_in_thread(
            lambda: (second.conn.execute(second_sql, second_params), second.conn.execute("commit"))
        )
        wait_until_blocked(pg, second.pid)
        first.conn.execute("commit")
        thread.join(10)
        return out
    finally:
        first.close()
        second.close()


def test_two_concurrent_bookings_of_one_slot_give_one_lesson(pg):
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    call = "select create_lesson_with_participants(%s, %s, %s)"
    out = _race(
        pg,
        call,
        call,
        ([ann], START, START + hours(1)),
        ([bob], START + hours(0.5), START + hours(1.5)),
        coach.principal,
    )
    assert getattr(out.get("error"), "sqlstate", None) == "23P01"
    assert count(pg, "lessons") == 1
    assert count(pg, "lesson_participants") == 1


def test_capacity_holds_under_concurrent_direct_inserts(pg):
    coach = pg.sign_up()
    ann, bob, cid = (make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid"))
    lt = make_lesson_type(pg, coach, "Duo", max_participants=2)
    lesson = book(pg, coach, [ann], START, lesson_type_id=lt)
    insert = "insert into lesson_participants (lesson_id, client_id) values (%s, %s)"
    out = _race(pg, insert, insert, (lesson["id"], bob), (lesson["id"], cid), coach.principal)
    assert getattr(out.get("error"), "sqlstate", None) == "CB004"
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 2


def test_capacity_holds_under_concurrent_rpc_and_insert(pg):
    coach = pg.sign_up()
    ann, bob, cid = (make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid"))
    lt = make_lesson_type(pg, coach, "Duo", max_participants=2)
    lesson = book(pg, coach, [ann], START, lesson_type_id=lt)
    out = _race(
        pg,
        "select update_lesson(p_lesson_id => %s, p_client_ids => %s)",
        "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
        (lesson["id"], [ann, bob]),
        (lesson["id"], cid),
        coach.principal,
    )
    assert getattr(out.get("error"), "sqlstate", None) == "CB004"
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 2


def test_direct_insert_beyond_capacity_is_refused(pg):
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(
        pg, coach, [ann], START, lesson_type_id=make_lesson_type(pg, coach, max_participants=1)
    )
    with raises_sql("CB004", "capacity_exceeded"), pg.as_service() as c:
        c.execute(
            "insert into lesson_participants (lesson_id, client_id, coach_id) values (%s, %s, %s)",
            (lesson["id"], bob, coach.id),
        )
    assert count(pg, "lesson_participants") == 1


def test_changing_lesson_type_to_a_smaller_one_is_refused(pg):
    coach = pg.sign_up()
    clients = [make_client(pg, coach, n) for n in ("Ann", "Bob")]
    group = make_lesson_type(pg, coach, "Group", max_participants=2)
    single = make_lesson_type(pg, coach, "Single", max_participants=1)
    lesson = book(pg, coach, clients, START, lesson_type_id=group)
    with raises_sql("CB004", "capacity_exceeded"), pg.as_coach(coach) as c:
        c.execute("update lessons set lesson_type_id = %s where id = %s", (single, lesson["id"]))
    assert count(pg, "lessons", "lesson_type_id = %s", group) == 1


def test_lesson_without_type_has_no_participant_limit(pg):
    coach = pg.sign_up()
    clients = [make_client(pg, coach, f"C{n}") for n in range(5)]
    lesson = book(pg, coach, clients, START + timedelta(days=1))
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 5

"""Write limits in the database: lesson writes and payments counted per signed-in user on
every path (RPC and direct table writes, as PostgREST runs them), PT429 past the limit;
server code is not limited (docs/rules.md, "Write limits")."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import psycopg
import pytest

from backend.testing import Coach, TestDatabase
from tests.sql.conftest import NOW, hours, make_client, raises_sql, rpc_one, scalar

LESSON_LIMIT, PAYMENT_LIMIT = 30, 10


def _start(i: int) -> datetime:
    return NOW + hours(24 + 2 * i)


def _book(pg: TestDatabase, coach: Coach, client: uuid.UUID, i: int) -> dict:
    with pg.as_coach(coach) as c:
        return rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[client], p_start_time=_start(i),
            p_end_time=_start(i) + hours(1),
        )  # fmt: skip


def _insert_lesson(pg: TestDatabase, coach: Coach, i: int) -> None:
    """A direct write, as the Supabase client sends it through PostgREST."""
    with pg.as_coach(coach) as c:
        c.execute(
            "insert into lessons (start_time, end_time) values (%s, %s)",
            (_start(i), _start(i) + hours(1)),
        )


def _writes(pg: TestDatabase, coach: Coach, policy: str) -> int | None:
    return scalar(
        pg,
        "select coalesce((select writes from private.rate_limit_windows"
        " where user_id = %s and policy = %s), 0)",
        coach.id,
        policy,
    )


def _past_charges(pg: TestDatabase, coach: Coach, client: uuid.UUID, n: int) -> list[uuid.UUID]:
    """n ended lessons with their charges, made by server code (not counted)."""
    with pg.as_service() as c:
        c.execute(
            "insert into lessons (coach_id, client_id, start_time, end_time, price_cents)"
            " select %(coach)s, %(client)s, %(now)s - make_interval(hours => 2 * i),"
            "  %(now)s - make_interval(hours => 2 * i) + interval '1 hour', 1000"
            " from generate_series(1, %(n)s) as i",
            {"coach": coach.id, "client": client, "now": NOW, "n": n},
        )
        c.execute(
            "insert into lesson_participants (coach_id, lesson_id, client_id)"
            " select coach_id, id, client_id from lessons where client_id = %s",
            (client,),
        )
        rows = c.execute(
            "select id from lesson_participants where client_id = %s order by id", (client,)
        )
        return [r[0] for r in rows]


def _pay(pg: TestDatabase, coach: Coach, client: uuid.UUID, charge: uuid.UUID) -> dict:
    with pg.as_coach(coach) as c:
        return rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )


def test_the_limits_are_the_python_layers(pg: TestDatabase) -> None:
    from backend.ratelimit import LIMITS

    rows = dict(
        (policy, (n, s))
        for policy, n, s in pg.admin.execute(
            "select policy, max_writes, window_seconds from private.rate_limits"
        )
    )
    assert rows == {
        "lesson": (LIMITS["lesson"].requests, LIMITS["lesson"].window_seconds),
        "payment": (LIMITS["payment"].requests, LIMITS["payment"].window_seconds),
    }
    assert rows == {"lesson": (LESSON_LIMIT, 60), "payment": (PAYMENT_LIMIT, 3600)}


def test_the_31st_lesson_write_in_a_minute_is_refused_and_another_coach_is_not(
    pg: TestDatabase,
) -> None:
    coach, other = pg.sign_up(), pg.sign_up()
    client = make_client(pg, coach)
    for i in range(LESSON_LIMIT):
        _insert_lesson(pg, coach, i)
    with raises_sql("PT429", "rate_limited") as info:
        _insert_lesson(pg, coach, LESSON_LIMIT)
    with raises_sql("PT429", "rate_limited"):
        _book(pg, coach, client, LESSON_LIMIT + 1)
    facts = json.loads(info.value.diag.message_detail or "")
    assert facts["policy"] == "lesson" and facts["limit"] == LESSON_LIMIT
    assert facts["window_seconds"] == 60 and 1 <= facts["retry_after"] <= 60
    assert scalar(pg, "select count(*) from lessons where coach_id = %s", coach.id) == 30
    _insert_lesson(pg, other, 0)
    _book(pg, other, make_client(pg, other), 1)
    assert _writes(pg, coach, "lesson") == LESSON_LIMIT
    assert _writes(pg, other, "lesson") == 2


def test_every_lesson_write_counts_once_whatever_its_path(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    client = make_client(pg, coach)
    lesson = _book(pg, coach, client, 0)  # 1
    with pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_title="Moved")  # 2
        c.execute("update lessons set notes = 'x' where id = %s", (lesson["id"],))  # 3
        rpc_one(c, "cancel_lesson", p_lesson_id=lesson["id"])  # 4
        c.execute(
            "select * from create_recurring_lessons(p_client_ids => %s, p_first_start_time"
            " => %s, p_duration_minutes => 60, p_frequency => 'weekly', p_occurrences => 10,"
            " p_timezone => 'UTC')",
            ([client], _start(100)),
        )  # 5: ten lessons, one write
        c.execute("delete from lessons where id = %s", (lesson["id"],))  # 6
    assert _writes(pg, coach, "lesson") == 6


def test_a_failed_write_does_not_count(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    client = make_client(pg, coach)
    _book(pg, coach, client, 0)
    with raises_sql("23P01"):
        _book(pg, coach, client, 0)  # the same slot
    assert _writes(pg, coach, "lesson") == 1


def test_a_refused_write_keeps_the_count_at_the_limit(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    pg.admin.execute("update private.rate_limits set max_writes = 2 where policy = 'lesson'")
    _insert_lesson(pg, coach, 0)
    _insert_lesson(pg, coach, 1)
    for i in range(3):
        with raises_sql("PT429", "rate_limited"):
            _insert_lesson(pg, coach, 2 + i)
    assert _writes(pg, coach, "lesson") == 2
    assert scalar(pg, "select count(*) from lessons") == 2


def test_an_idempotent_replay_does_not_count(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    write = {"insert": "lessons", "values": {"start_time": str(_start(0)),
                                            "end_time": str(_start(0) + hours(1))}}  # fmt: skip
    for _ in range(3):
        with pg.as_coach(coach) as c:
            c.execute("select idempotent_write('key-1', %s)", (json.dumps(write),))
    assert _writes(pg, coach, "lesson") == 1
    assert scalar(pg, "select count(*) from lessons") == 1


def test_a_new_window_starts_after_the_last_one_ended_in_the_same_row(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    pg.admin.execute("update private.rate_limits set max_writes = 2 where policy = 'lesson'")
    _insert_lesson(pg, coach, 0)
    _insert_lesson(pg, coach, 1)
    pg.admin.execute(
        "update private.rate_limit_windows set window_start = window_start - interval '61 seconds'"
    )
    _insert_lesson(pg, coach, 2)
    assert _writes(pg, coach, "lesson") == 1
    assert scalar(pg, "select count(*) from private.rate_limit_windows") == 1


def test_an_operator_changes_a_limit_without_a_migration(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    pg.admin.execute(
        "update private.rate_limits set max_writes = 1, window_seconds = 3600"
        " where policy = 'lesson'"
    )
    _insert_lesson(pg, coach, 0)
    with raises_sql("PT429", "rate_limited") as info:
        _insert_lesson(pg, coach, 1)
    assert 3500 <= json.loads(info.value.diag.message_detail or "")["retry_after"] <= 3600
    pg.admin.execute("delete from private.rate_limits where policy = 'lesson'")  # limit off
    for i in range(3):
        _insert_lesson(pg, coach, 2 + i)
    assert scalar(pg, "select count(*) from lessons") == 4


def test_the_11th_payment_in_an_hour_is_refused(pg: TestDatabase) -> None:
    coach, other = pg.sign_up(), pg.sign_up()
    client = make_client(pg, coach)
    charges = _past_charges(pg, coach, client, PAYMENT_LIMIT + 1)
    for charge in charges[:PAYMENT_LIMIT]:
        _pay(pg, coach, client, charge)
    with raises_sql("PT429", "rate_limited") as info:
        _pay(pg, coach, client, charges[-1])
    facts = json.loads(info.value.diag.message_detail or "")
    assert facts["policy"] == "payment" and facts["window_seconds"] == 3600
    assert scalar(pg, "select count(*) from payments") == PAYMENT_LIMIT
    assert (
        scalar(
            pg, "select payment_status::text from lesson_participants where id = %s", charges[-1]
        )
        == "unpaid"
    )
    other_client = make_client(pg, other)
    _pay(pg, other, other_client, _past_charges(pg, other, other_client, 1)[0])
    assert _writes(pg, coach, "payment") == PAYMENT_LIMIT
    # annotating a payment is not a payment
    with pg.as_coach(coach) as c:
        c.execute("update payments set note = 'checked'")


def test_server_code_is_not_limited(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    client = make_client(pg, coach)
    for i in range(LESSON_LIMIT + 5):
        with pg.as_service() as c:
            c.execute(
                "insert into lessons (coach_id, start_time, end_time) values (%s, %s, %s)",
                (coach.id, _start(i), _start(i) + hours(1)),
            )
    for _ in range(PAYMENT_LIMIT + 2):
        with pg.as_service() as c:
            c.execute(
                "insert into payments (coach_id, client_id, amount_cents, method, status, paid_at)"
                " values (%s, %s, 100, 'stripe', 'succeeded', now())",
                (coach.id, client),
            )
    assert scalar(pg, "select count(*) from lessons") == LESSON_LIMIT + 5
    assert scalar(pg, "select count(*) from payments") == PAYMENT_LIMIT + 2
    assert scalar(pg, "select count(*) from private.rate_limit_windows") == 0


def test_a_coach_can_not_reach_the_counts_or_the_limits(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    _insert_lesson(pg, coach, 0)
    statements = [
        "select * from private.rate_limit_windows",
        "update private.rate_limit_windows set writes = 0",
        "delete from private.rate_limit_windows",
        "insert into private.rate_limit_windows values (%(me)s, 'lesson', now(), 0)",
        "select * from private.rate_limits",
        "update private.rate_limits set max_writes = 1000000",
        "delete from private.rate_limits",
    ]
    for statement in statements:
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(statement, {"me": coach.id})
    assert _writes(pg, coach, "lesson") == 1
    assert scalar(pg, "select sum(max_writes) from private.rate_limits") == 40


def test_a_coach_can_not_call_the_counting_trigger(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    with pytest.raises(psycopg.Error) as info, pg.as_coach(coach) as c:
        c.execute("select private.count_rate_limited_write()")
    assert info.value.sqlstate in {"42501", "0A000"}


def test_a_coachs_count_can_not_be_inflated_by_another_coach(pg: TestDatabase) -> None:
    victim, attacker = pg.sign_up(), pg.sign_up()
    attacker_client = make_client(pg, attacker)
    # Naming the victim as the lesson's coach is refused by row level security before
    # it could count; every write the attacker makes counts on the attacker alone.
    for i in range(5):
        with raises_sql("42501"), pg.as_coach(attacker) as c:
            c.execute(
                "insert into lessons (coach_id, start_time, end_time) values (%s, %s, %s)",
                (victim.id, _start(i), _start(i) + hours(1)),
            )
    _book(pg, attacker, attacker_client, 0)
    assert _writes(pg, victim, "lesson") == 0
    assert _writes(pg, attacker, "lesson") == 1

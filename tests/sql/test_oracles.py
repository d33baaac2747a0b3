"""No existence oracles: a coach's direct write answers another coach's id
exactly as it answers a random one, and never waits for that coach's rows.

Every write a coach may send through the Supabase client (and the one
private table record_payment writes through) is tried twice: naming the
other coach's row, and naming a random id. The answers (SQLSTATE and row
count) must be identical. Meanwhile the other coach holds an open
transaction that has locked every one of its rows and inserted rows of its
own not yet committed; each probe runs with a short lock_timeout, so a probe
that touched (or waited for) one of those rows would answer 55P03 instead:
the timing class is part of the answer compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from backend.testing import Coach, TestDatabase
from tests.sql.conftest import NOW, Session, book, hours, make_client, make_lesson_type, scalar


@dataclass
class Victim:
    coach: Coach
    client: uuid.UUID
    client_in_lesson: uuid.UUID  # a participant of `lesson`
    client_pending: uuid.UUID  # being added to `lesson` by an uncommitted insert
    lesson_type: uuid.UUID
    lesson_type_name: str
    lesson: uuid.UUID
    charge: uuid.UUID
    series: uuid.UUID
    payment: uuid.UUID

    @property
    def coach_id(self) -> uuid.UUID:
        return self.coach.id


@dataclass
class Attacker:
    coach: Coach
    client: uuid.UUID
    lesson: uuid.UUID
    charge: uuid.UUID


def _victim(pg: TestDatabase) -> Victim:
    coach = pg.sign_up()
    client = make_client(pg, coach, "Vera")
    client_in_lesson = make_client(pg, coach, "Vic")
    client_pending = make_client(pg, coach, "Val")
    lesson_type = make_lesson_type(pg, coach, "Group", max_participants=5)
    lesson = book(pg, coach, [client_in_lesson], NOW - hours(5), lesson_type_id=lesson_type)
    charge = scalar(pg, "select id from lesson_participants where lesson_id = %s", lesson["id"])
    with pg.as_coach(coach) as c:
        payment = c.execute(
            "select id from record_payment(p_client_id => %s, p_participant_ids => %s,"
            " p_method => 'cash')",
            (client_in_lesson, [charge]),
        ).fetchone()[0]
        series = c.execute(
            "select recurring_lesson_id from create_recurring_lessons(p_client_ids => %s,"
            " p_first_start_time => %s, p_duration_minutes => 60, p_frequency => 'weekly',"
            " p_occurrences => 2, p_timezone => 'UTC')",
            ([client], NOW + hours(24 * 20)),
        ).fetchone()[0]
    # A key of the victim's own, as idempotent_write leaves it.
    pg.admin.execute(
        "insert into private.idempotency_keys (owner, key, fingerprint)"
        " values (%s, 'victim-key', 'f')",
        (str(coach.id),),
    )
    return Victim(
        coach, client, client_in_lesson, client_pending, lesson_type, "Group", lesson["id"],
        charge, series, payment,
    )  # fmt: skip


@pytest.fixture
def victim(pg: TestDatabase) -> Iterator[Victim]:
    """The other coach, in the middle of a transaction holding every one of its rows."""
    victim = _victim(pg)
    session = Session(pg, victim.coach.principal)
    try:
        for table in ("clients", "lesson_types", "recurring_lessons", "lessons",
                      "lesson_participants", "payments", "private.idempotency_keys"):  # fmt: skip
            session.conn.execute(f"select from {table} for update")
        session.conn.execute(
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            (victim.lesson, victim.client_pending),
        )
        session.conn.execute(
            "insert into lesson_types (name, duration_minutes) values ('Pending', 30)"
        )
        session.conn.execute(
            "insert into clients (first_name) values ('Pending')",
        )
        # a lesson write: the victim's write count is locked until its transaction ends
        session.conn.execute("update lessons set notes = 'pending' where id = %s", (victim.lesson,))
        yield victim
    finally:
        session.conn.execute("rollback")
        session.close()


@pytest.fixture
def attacker(pg: TestDatabase) -> Attacker:
    coach = pg.sign_up()
    client = make_client(pg, coach, "Ann")
    lesson = book(pg, coach, [client], NOW - hours(3))
    charge = scalar(pg, "select id from lesson_participants where lesson_id = %s", lesson["id"])
    return Attacker(coach, client, lesson["id"], charge)


Answer = tuple[str | None, int]


def answer(pg: TestDatabase, coach: Coach, sql: str, params: dict[str, Any]) -> Answer:
    """The SQLSTATE (None on success) and row count; nothing is kept."""
    try:
        with pg.as_coach(coach) as c:
            c.execute("set local lock_timeout = '300ms'")
            c.execute("savepoint probe")
            rows = c.execute(sql, params).rowcount
            c.execute("rollback to savepoint probe")
            return None, rows
    except psycopg.Error as exc:
        return exc.sqlstate, -1


# Every direct write a coach may make that can name another coach's row:
# (what, statement, the other coach's values, a random stand-in, expected
# answer). %(me)s-style parameters name the attacker's own rows.
PROBES: list[tuple[str, str, dict[str, str], str]] = [
    ("insert a client with a chosen id",
     "insert into clients (id, first_name) values (%(target)s, 'X')",
     {"target": "client"}, "42501"),
    ("insert a lesson with a chosen id",
     "insert into lessons (id, start_time, end_time)"
     " values (%(target)s, now(), now() + interval '1h')",
     {"target": "lesson"}, "42501"),
    ("insert a lesson type with a chosen id",
     "insert into lesson_types (id, name, duration_minutes) values (%(target)s, 'X', 30)",
     {"target": "lesson_type"}, "42501"),
    ("insert a series with a chosen id",
     "insert into recurring_lessons (id, frequency, first_start_time, duration_minutes, timezone,"
     " occurrences) values (%(target)s, 'weekly', now(), 30, 'UTC', 1)",
     {"target": "series"}, "42501"),
    ("insert a charge with a chosen id",
     "insert into lesson_participants (id, lesson_id, client_id) values (%(target)s, %(my_lesson)s,"
     " %(my_client)s)", {"target": "charge"}, "42501"),
    ("upsert a client on its id",
     "insert into clients (id, first_name) values (%(target)s, 'X')"
     " on conflict (id) do update set first_name = 'Y'", {"target": "client"}, "42501"),
    ("rename an own client to a probed id",
     "update clients set id = %(target)s where id = %(my_client)s", {"target": "client"}, "42501"),
    ("rename an own lesson to a probed id",
     "update lessons set id = %(target)s where id = %(my_lesson)s", {"target": "lesson"}, "42501"),
    ("rename an own charge to a probed id",
     "update lesson_participants set id = %(target)s where id = %(my_charge)s",
     {"target": "charge"}, "42501"),
    ("add a member of another coach's lesson to it",
     "insert into lesson_participants (lesson_id, client_id) values (%(lesson)s, %(client)s)",
     {"lesson": "lesson", "client": "client_in_lesson"}, "23503"),
    ("add a client being added right now to that lesson",
     "insert into lesson_participants (lesson_id, client_id) values (%(lesson)s, %(client)s)",
     {"lesson": "lesson", "client": "client_pending"}, "23503"),
    ("add a non-member of another coach's lesson to it",
     "insert into lesson_participants (lesson_id, client_id) values (%(lesson)s, %(client)s)",
     {"lesson": "lesson", "client": "client"}, "23503"),
    ("add an own client to another coach's lesson",
     "insert into lesson_participants (lesson_id, client_id) values (%(lesson)s, %(my_client)s)",
     {"lesson": "lesson"}, "23503"),
    ("upsert a member of another coach's lesson",
     "insert into lesson_participants (lesson_id, client_id) values (%(lesson)s, %(client)s)"
     " on conflict do nothing", {"lesson": "lesson", "client": "client_in_lesson"}, "23503"),
    ("book a lesson for another coach's client",
     "insert into lessons (client_id, start_time, end_time)"
     " values (%(client)s, now() + interval '9d', now() + interval '9d 1h')",
     {"client": "client"}, "23503"),
    ("book a lesson of another coach's type",
     "insert into lessons (lesson_type_id, start_time, end_time)"
     " values (%(type)s, now() + interval '9d', now() + interval '9d 1h')",
     {"type": "lesson_type"}, "23503"),
    ("attach a lesson to another coach's series",
     "insert into lessons (recurring_lesson_id, start_time, end_time)"
     " values (%(series)s, now() + interval '9d', now() + interval '9d 1h')",
     {"series": "series"}, "23503"),
    ("update another coach's profile", "update coaches set full_name = 'x' where id = %(target)s",
     {"target": "coach_id"}, "ok"),
    ("update another coach's client", "update clients set notes = 'x' where id = %(target)s",
     {"target": "client"}, "ok"),
    ("update another coach's lesson", "update lessons set notes = 'x' where id = %(target)s",
     {"target": "lesson"}, "ok"),
    ("update another coach's charge",
     "update lesson_participants set attended = true where id = %(target)s",
     {"target": "charge"}, "ok"),
    ("update another coach's lesson type",
     "update lesson_types set max_participants = 1 where id = %(target)s",
     {"target": "lesson_type"}, "ok"),
    ("update another coach's series",
     "update recurring_lessons set title = 'x' where id = %(target)s", {"target": "series"}, "ok"),
    ("annotate another coach's payment",
     "update payments set note = 'x' where id = %(target)s", {"target": "payment"}, "ok"),
    ("delete another coach's client", "delete from clients where id = %(target)s",
     {"target": "client"}, "ok"),
    ("delete another coach's lesson", "delete from lessons where id = %(target)s",
     {"target": "lesson"}, "ok"),
    ("delete another coach's charge", "delete from lesson_participants where id = %(target)s",
     {"target": "charge"}, "ok"),
    ("delete another coach's series", "delete from recurring_lessons where id = %(target)s",
     {"target": "series"}, "ok"),
    ("request a payment for another coach's client",
     "insert into private.payment_requests (client_id, participant_ids, method)"
     " values (%(client)s, array[%(my_charge)s]::uuid[], 'cash')", {"client": "client"}, "CB001"),
    ("request a payment of another coach's charge",
     "insert into private.payment_requests (client_id, participant_ids, method)"
     " values (%(my_client)s, array[%(charge)s]::uuid[], 'cash')", {"charge": "charge"}, "CB001"),
    ("claim another coach's idempotency key",
     "insert into private.idempotency_keys (owner, key, fingerprint)"
     " values (%(target)s::text, 'victim-key', 'f')", {"target": "coach_id"}, "42501"),
    ("overwrite another coach's idempotency key",
     "update private.idempotency_keys set result = null where owner = %(target)s::text",
     {"target": "coach_id"}, "ok"),
    ("forget another coach's idempotency keys",
     "delete from private.idempotency_keys where owner = %(target)s::text",
     {"target": "coach_id"}, "ok"),
    ("read another coach's write count",
     "select from private.rate_limit_windows where user_id = %(target)s",
     {"target": "coach_id"}, "42501"),
    ("inflate another coach's write count",
     "insert into private.rate_limit_windows (user_id, policy, window_start, writes)"
     " values (%(target)s, 'lesson', now(), 1000)", {"target": "coach_id"}, "42501"),
    ("reset another coach's write count",
     "update private.rate_limit_windows set writes = 0 where user_id = %(target)s",
     {"target": "coach_id"}, "42501"),
    ("forget another coach's write count",
     "delete from private.rate_limit_windows where user_id = %(target)s",
     {"target": "coach_id"}, "42501"),
    ("raise another coach's write limit",
     "update private.rate_limits set max_writes = 1000000 where %(target)s::uuid is not null",
     {"target": "coach_id"}, "42501"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "targets", "expected"),
    [pytest.param(sql, targets, expected, id=what) for what, sql, targets, expected in PROBES],
)
def test_another_coachs_id_answers_as_a_random_one(
    pg: TestDatabase,
    victim: Victim,
    attacker: Attacker,
    sql: str,
    targets: dict[str, str],
    expected: str,
) -> None:
    own = {"my_client": attacker.client, "my_lesson": attacker.lesson, "my_charge": attacker.charge}
    theirs = {name: getattr(victim, field) for name, field in targets.items()}
    random = {name: uuid.uuid4() for name in targets}
    for_theirs = answer(pg, attacker.coach, sql, {**own, **theirs})
    for_random = answer(pg, attacker.coach, sql, {**own, **random})
    assert for_theirs == for_random
    assert for_theirs == ((None, 0) if expected == "ok" else (expected, -1))


def test_a_lesson_type_name_is_free_whatever_another_coach_calls_its_types(
    pg: TestDatabase, victim: Victim, attacker: Attacker
) -> None:
    sql = "insert into lesson_types (name, duration_minutes) values (%(name)s, 30)"
    for name in (victim.lesson_type_name, "Pending", uuid.uuid4().hex):
        assert answer(pg, attacker.coach, sql, {"name": name}) == (None, 1)


def test_the_probes_cover_every_writable_table(pg: TestDatabase) -> None:
    """Every table a coach may insert into, update or delete from is probed."""
    writable = {
        r[0]
        for r in pg.admin.execute(
            "select distinct table_name from information_schema.column_privileges"
            " where grantee = 'authenticated' and privilege_type in ('INSERT', 'UPDATE')"
            " union select distinct table_name from information_schema.table_privileges"
            " where grantee = 'authenticated' and privilege_type in ('INSERT', 'UPDATE', 'DELETE')"
        )
    }
    probed = {
        word
        for _what, sql, _targets, _expected in PROBES
        for word in sql.replace("(", " ").replace(".", " ").split()
    }
    assert writable <= probed, writable - probed

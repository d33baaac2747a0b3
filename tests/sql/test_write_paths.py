"""Every rule on every path: the RPC functions and a coach's direct table writes.

One row per rule of docs/rules.md. Each rule is proven through the function
that applies it and through the direct write a coach could try instead, as
`authenticated` (the Supabase client's path); every refusal also leaves the
coach's data exactly as it was. A rule no function can break (no function
writes that column) has no function proof and says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from backend.testing import Coach, TestDatabase
from tests.sql.conftest import (
    NOW,
    book,
    hours,
    make_client,
    make_lesson_type,
    raises_sql,
    rpc_one,
    scalar,
)

MAX_PRICE = 100_000_000


@dataclass
class Books:
    """One coach's data: clients, lesson types, and lessons in every state."""

    pg: TestDatabase
    coach: Coach
    ann: uuid.UUID
    bob: uuid.UUID
    single: uuid.UUID  # max_participants 1
    duo: uuid.UUID  # max_participants 2
    inactive: uuid.UUID
    scheduled: dict[str, Any]  # tomorrow, Ann, type duo
    completed: dict[str, Any]  # yesterday, Ann (paid) and Bob (unpaid), type duo
    series: uuid.UUID

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """The coach's rows, read as the superuser."""
        return {
            table: self.pg.admin.execute(
                f"select * from public.{table} where coach_id = %s order by id", (self.coach.id,)
            ).fetchall()
            for table in (
                "clients",
                "lesson_types",
                "recurring_lessons",
                "lessons",
                "lesson_participants",
                "payments",
            )
        }

    def as_coach(self) -> Any:
        return self.pg.as_coach(self.coach)

    def charge(self, lesson: dict[str, Any], client: uuid.UUID) -> uuid.UUID:
        return uuid.UUID(
            str(
                scalar(
                    self.pg,
                    "select id from lesson_participants where lesson_id = %s and client_id = %s",
                    lesson["id"],
                    client,
                )
            )
        )


@pytest.fixture
def books(pg: TestDatabase) -> Books:
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    single = make_lesson_type(pg, coach, "Single", max_participants=1)
    duo = make_lesson_type(pg, coach, "Duo", max_participants=2)
    inactive = make_lesson_type(pg, coach, "Old", is_active=False)
    scheduled = book(pg, coach, [ann], NOW + hours(24), lesson_type_id=duo)
    completed = book(pg, coach, [ann, bob], NOW - hours(24), lesson_type_id=duo)
    with pg.as_coach(coach) as c:
        rpc_one(c, "complete_lesson", p_lesson_id=completed["id"])
        paid = scalar(
            pg,
            "select id from lesson_participants where lesson_id = %s and client_id = %s",
            completed["id"],
            ann,
        )
        rpc_one(c, "record_payment", p_client_id=ann, p_participant_ids=[paid], p_method="cash")
        series = c.execute(
            "select recurring_lesson_id from create_recurring_lessons(p_client_ids => %s,"
            " p_first_start_time => %s, p_duration_minutes => 60, p_frequency => 'weekly',"
            " p_occurrences => 2, p_timezone => 'UTC')",
            ([bob], NOW + hours(24 * 30)),
        ).fetchone()[0]
    books = Books(pg, coach, ann, bob, single, duo, inactive, scheduled, completed, series)
    assert scalar(pg, "select status from lessons where id = %s", completed["id"]) == "completed"
    return books


def refused(books: Books, sqlstate: str, hint: str | None, sql: str, *params: Any) -> None:
    """The coach's statement fails with this SQLSTATE (and key) and changes nothing."""
    before = books.snapshot()
    with raises_sql(sqlstate, hint), books.as_coach() as c:
        c.execute(sql, params)
    assert books.snapshot() == before


def rpc_refused(
    books: Books, sqlstate: str, hint: str | None, function: str, **params: Any
) -> None:
    """The coach's RPC call fails with this SQLSTATE (and key) and changes nothing."""
    before = books.snapshot()
    with raises_sql(sqlstate, hint), books.as_coach() as c:
        rpc_one(c, function, **params)
    assert books.snapshot() == before


Proof = Callable[[Books], None]


@dataclass(frozen=True)
class Rule:
    name: str
    via_function: Proof | str  # a proof, or why no function can break the rule
    via_direct_write: Proof


RULES = [
    Rule(
        "a lesson that is not scheduled does not change",
        lambda b: rpc_refused(
            b, "CB008", "lesson_not_editable", "update_lesson",
            p_lesson_id=b.completed["id"], p_title="moved",
        ),
        lambda b: refused(
            b, "CB008", "lesson_not_editable",
            "update lessons set notes = 'rewritten', start_time = start_time - interval '1 day'"
            " where id = %s", b.completed["id"],
        ),
    ),
    Rule(
        "a lesson leaves scheduled once: a completed lesson is not reopened or cancelled",
        lambda b: rpc_refused(
            b, "CB008", "lesson_not_editable", "cancel_lesson", p_lesson_id=b.completed["id"]
        ),
        lambda b: refused(
            b, "CB008", "lesson_not_editable",
            "update lessons set status = 'scheduled' where id = %s", b.completed["id"],
        ),
    ),
    Rule(
        "a new lesson is scheduled",
        lambda b: _created_lesson_is_scheduled(b),
        lambda b: refused(
            b, "CB008", "lesson_not_editable",
            "insert into lessons (start_time, end_time, status)"
            " values (now() - interval '3 days', now() - interval '71 hours', 'completed')",
        ),
    ),
    Rule(
        "participants join a scheduled lesson only",
        lambda b: rpc_refused(
            b, "CB008", "lesson_not_editable", "update_lesson",
            p_lesson_id=b.completed["id"], p_client_ids=[b.ann],
        ),
        lambda b: refused(
            b, "CB008", "lesson_not_editable",
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            b.completed["id"], make_client(b.pg, b.coach, "Cid"),
        ),
    ),
    Rule(
        "a lesson has at most its type's max_participants, when participants are added",
        lambda b: rpc_refused(
            b, "CB004", "capacity_exceeded", "create_lesson_with_participants",
            p_client_ids=[b.ann, b.bob], p_start_time=NOW + hours(72), p_lesson_type_id=b.single,
        ),
        lambda b: refused(
            b, "CB004", "capacity_exceeded",
            "insert into lesson_participants (lesson_id, client_id)"
            " select id, c.client_id from lessons, unnest(%s::uuid[]) as c (client_id)"
            " where id = %s",
            [b.bob, make_client(b.pg, b.coach, "Cid")], b.scheduled["id"],
        ),
    ),
    Rule(
        "a lesson has at most its type's max_participants, when the lesson changes",
        lambda b: rpc_refused(
            b, "CB004", "capacity_exceeded", "update_lesson",
            p_lesson_id=_lesson_of_type(b, b.single), p_client_ids=[b.ann, b.bob],
        ),
        lambda b: refused(
            b, "CB004", "capacity_exceeded",
            "update lessons set lesson_type_id = %s where id = %s",
            b.single, _lesson_of_type(b, b.duo, [b.ann, b.bob]),
        ),
    ),
    Rule(
        "a lesson has at most its type's max_participants, when the type's limit is lowered",
        "no function changes a lesson type",
        lambda b: refused(
            b, "CB004", "capacity_exceeded",
            "update lesson_types set max_participants = 1 where id = %s", b.duo,
        ),
    ),
    Rule(
        "a lesson gets an active lesson type only",
        lambda b: rpc_refused(
            b, "CB003", "lesson_type_inactive", "create_lesson_with_participants",
            p_client_ids=[b.ann], p_start_time=NOW + hours(72), p_lesson_type_id=b.inactive,
        ),
        lambda b: refused(
            b, "CB003", "lesson_type_inactive",
            "update lessons set lesson_type_id = %s where id = %s", b.inactive, b.scheduled["id"],
        ),
    ),
    Rule(
        "a price is at most 100,000,000 cents",
        lambda b: rpc_refused(
            b, "CB002", "invalid_argument", "create_lesson_with_participants",
            p_client_ids=[b.ann], p_start_time=NOW + hours(72), p_end_time=NOW + hours(73),
            p_price_cents=MAX_PRICE + 1,
        ),
        lambda b: refused(
            b, "23514", None,
            "update lesson_participants set price_cents = %s where lesson_id = %s",
            MAX_PRICE + 1, b.scheduled["id"],
        ),
    ),
    Rule(
        "a paid charge stays paid at its price",
        lambda b: rpc_refused(
            b, "CB006", "already_paid", "record_payment",
            p_client_id=b.ann, p_participant_ids=[b.charge(b.completed, b.ann)], p_method="card",
        ),
        lambda b: refused(
            b, "42501", "charge_locked",
            "update lesson_participants set price_cents = 1 where id = %s",
            b.charge(b.completed, b.ann),
        ),
    ),
    Rule(
        "a paid participant is not removed",
        lambda b: rpc_refused(
            b, "CB009", "paid_participant_removal", "update_lesson",
            p_lesson_id=_lesson_with_paid_charge(b), p_client_ids=[b.bob],
        ),
        lambda b: refused(
            b, "42501", "charge_locked",
            "delete from lesson_participants where id = %s", b.charge(b.completed, b.ann),
        ),
    ),
    Rule(
        "payment columns are written by the payment functions only",
        lambda b: _recorded_payment_is_computed(b),
        lambda b: refused(
            b, "42501", None,
            "update lesson_participants set payment_status = 'waived' where id = %s",
            b.charge(b.completed, b.bob),
        ),
    ),
    Rule(
        "cancelling a lesson waives its unpaid charges",
        lambda b: _cancel_waives(b, direct=False),
        lambda b: _cancel_waives(b, direct=True),
    ),
    Rule(
        "no two lessons of a coach overlap",
        lambda b: rpc_refused(
            b, "23P01", None, "create_lesson_with_participants",
            p_client_ids=[b.bob], p_start_time=b.scheduled["start_time"],
            p_end_time=b.scheduled["end_time"],
        ),
        lambda b: refused(
            b, "23P01", None,
            "insert into lessons (start_time, end_time) values (%s, %s)",
            b.scheduled["start_time"], b.scheduled["end_time"],
        ),
    ),
    Rule(
        "a lesson ends after it starts",
        lambda b: rpc_refused(
            b, "CB002", "invalid_argument", "update_lesson",
            p_lesson_id=b.scheduled["id"], p_end_time=b.scheduled["start_time"],
        ),
        lambda b: refused(
            b, "23514", None,
            "update lessons set end_time = start_time where id = %s", b.scheduled["id"],
        ),
    ),
    Rule(
        "a time a coach writes is in [1900, 2200) UTC",
        lambda b: rpc_refused(
            b, "CB002", "invalid_argument", "update_lesson",
            p_lesson_id=b.scheduled["id"], p_start_time="10000-01-01 10:00Z",
        ),
        lambda b: refused(
            b, "23514", None,
            "update lessons set start_time = '10000-01-01', end_time = '10000-01-02'"
            " where id = %s", b.scheduled["id"],
        ),
    ),
    Rule(
        "a coach's lesson writes are limited per minute",
        lambda b: rpc_refused(
            _at_limit(b, "lesson"), "PT429", "rate_limited", "cancel_lesson",
            p_lesson_id=b.scheduled["id"],
        ),
        lambda b: refused(
            _at_limit(b, "lesson"), "PT429", "rate_limited",
            "update lessons set notes = 'x' where id = %s", b.scheduled["id"],
        ),
    ),
    Rule(
        "a coach's payments are limited per hour",
        lambda b: rpc_refused(
            _at_limit(b, "payment"), "PT429", "rate_limited", "record_payment",
            p_client_id=b.bob, p_participant_ids=[b.charge(b.completed, b.bob)], p_method="cash",
        ),
        lambda b: refused(
            _at_limit(b, "payment"), "PT429", "rate_limited",
            "insert into private.payment_requests (client_id, participant_ids, method)"
            " values (%s, %s, 'cash')", b.bob, [b.charge(b.completed, b.bob)],
        ),
    ),
    Rule(
        "a client sits once in a lesson",
        lambda b: rpc_refused(
            b, "CB005", "duplicate_participant", "update_lesson",
            p_lesson_id=b.scheduled["id"], p_client_ids=[b.ann, b.ann],
        ),
        lambda b: refused(
            b, "23505", None,
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            b.scheduled["id"], b.ann,
        ),
    ),
    Rule(
        "the database makes every id",
        "no function takes the id of a row it creates",
        lambda b: refused(
            b, "42501", None,
            "insert into clients (id, first_name) values (%s, 'Cid')", uuid.uuid4(),
        ),
    ),
    Rule(
        "an id never changes",
        "no function changes an id",
        lambda b: refused(
            b, "42501", None, "update lessons set id = %s where id = %s",
            uuid.uuid4(), b.scheduled["id"],
        ),
    ),
    Rule(
        "a series keeps its schedule",
        "no function changes a series' schedule",
        lambda b: refused(
            b, "42501", None,
            "update recurring_lessons set first_start_time = first_start_time + interval '1 hour'"
            " where id = %s", b.series,
        ),
    ),
]  # fmt: skip


def _at_limit(b: Books, policy: str) -> Books:
    """The coach's limit for `policy` lowered to the writes it made so far (at least one)."""
    b.pg.admin.execute(
        "update private.rate_limits set max_writes = (select writes"
        " from private.rate_limit_windows where user_id = %s and policy = %s) where policy = %s",
        (b.coach.id, policy, policy),
    )
    return b


def _created_lesson_is_scheduled(b: Books) -> None:
    with b.as_coach() as c:
        lesson = rpc_one(
            c, "create_lesson_with_participants", p_client_ids=[b.bob],
            p_start_time=NOW + hours(72), p_end_time=NOW + hours(73),
        )  # fmt: skip
    assert lesson["status"] == "scheduled"


def _lesson_of_type(
    b: Books, lesson_type: uuid.UUID, clients: list[uuid.UUID] | None = None
) -> uuid.UUID:
    """A lesson in four days of that type (Ann's, unless other clients are given)."""
    lesson = book(b.pg, b.coach, clients or [b.ann], NOW + hours(96), lesson_type_id=lesson_type)
    return uuid.UUID(str(lesson["id"]))


def _lesson_with_paid_charge(b: Books) -> uuid.UUID:
    """A scheduled lesson that is over (so billable), Ann's charge paid."""
    lesson = book(b.pg, b.coach, [b.ann, b.bob], NOW - hours(5), lesson_type_id=b.duo)
    with b.as_coach() as c:
        rpc_one(
            c, "record_payment", p_client_id=b.ann,
            p_participant_ids=[b.charge(lesson, b.ann)], p_method="cash",
        )  # fmt: skip
    return uuid.UUID(str(lesson["id"]))


def _recorded_payment_is_computed(b: Books) -> None:
    bob_charge = b.charge(b.completed, b.bob)
    with b.as_coach() as c:
        payment = rpc_one(
            c, "record_payment", p_client_id=b.bob, p_participant_ids=[bob_charge], p_method="cash"
        )
    assert payment["amount_cents"] == scalar(
        b.pg, "select price_cents from lesson_participants where id = %s", bob_charge
    )
    assert (
        scalar(b.pg, "select payment_status from lesson_participants where id = %s", bob_charge)
        == "paid"
    )


def _cancel_waives(b: Books, *, direct: bool) -> None:
    lesson = book(b.pg, b.coach, [b.ann, b.bob], NOW + hours(120), lesson_type_id=b.duo)
    with b.as_coach() as c:
        if direct:
            c.execute("update lessons set status = 'cancelled' where id = %s", (lesson["id"],))
        else:
            rpc_one(c, "cancel_lesson", p_lesson_id=lesson["id"])
    statuses = b.pg.admin.execute(
        "select payment_status from lesson_participants where lesson_id = %s", (lesson["id"],)
    ).fetchall()
    assert statuses == [("waived",), ("waived",)]
    assert scalar(b.pg, "select cancelled_at from lessons where id = %s", lesson["id"]) is not None


PROOFS = [
    pytest.param(rule, path, id=f"{rule.name} [{path}]")
    for rule in RULES
    for path in ("function", "direct write")
    if path == "direct write" or not isinstance(rule.via_function, str)
]


@pytest.mark.parametrize(("rule", "path"), PROOFS)
def test_rule_holds_on_every_path(books: Books, rule: Rule, path: str) -> None:
    proof = rule.via_direct_write if path == "direct write" else rule.via_function
    assert not isinstance(proof, str)
    proof(books)


def test_rule_table_counts() -> None:
    both = [rule for rule in RULES if not isinstance(rule.via_function, str)]
    assert len(RULES) == 22
    assert len(both) == 18


def test_service_role_may_import_a_completed_lesson_with_its_charges(pg: TestDatabase) -> None:
    """Server code keeps table-wide privileges: history can be imported as it was."""
    coach = pg.sign_up()
    client = make_client(pg, coach)
    with pg.as_service() as c:
        lesson = c.execute(
            "insert into lessons (coach_id, start_time, end_time, status)"
            " values (%s, now() - interval '2 days', now() - interval '47 hours', 'completed')"
            " returning id",
            (coach.id,),
        ).fetchone()[0]
        c.execute(
            "insert into lesson_participants (coach_id, lesson_id, client_id) values (%s, %s, %s)",
            (coach.id, lesson, client),
        )
    assert scalar(pg, "select count(*) from lesson_participants where lesson_id = %s", lesson) == 1


def test_deleting_a_series_keeps_its_completed_lessons(books: Books) -> None:
    """The series link of a completed lesson is the one thing that may still change."""
    lesson = scalar(
        books.pg,
        "select id from lessons where recurring_lesson_id = %s order by start_time limit 1",
        books.series,
    )
    books.pg.admin.execute("update lessons set status = 'completed' where id = %s", (lesson,))
    with books.as_coach() as c:
        c.execute("delete from recurring_lessons where id = %s", (books.series,))
    assert scalar(books.pg, "select recurring_lesson_id from lessons where id = %s", lesson) is None

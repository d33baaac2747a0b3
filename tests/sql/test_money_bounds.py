"""Bounded money: one maximum for a price, one for a payment, on every path, and
sums that stay inside bigint however a coach fills its books."""

from __future__ import annotations

import uuid

import pytest

from backend.models import MAX_PRICE_CENTS
from backend.testing import Coach, TestDatabase
from tests.sql.conftest import NOW, book, hours, make_client, raises_sql, rpc_one, scalar

MAX_PRICE = 100_000_000
MAX_PAYMENT = 10_000_000_000


def _past_charges(pg: TestDatabase, coach: Coach, client: uuid.UUID, n: int) -> list[uuid.UUID]:
    """n ended lessons at the largest price, written directly by the coach."""
    with pg.as_coach(coach) as c:
        c.execute(
            "insert into lessons (client_id, start_time, end_time, price_cents)"
            " select %(client)s, %(start)s - make_interval(hours => 2 * i),"
            "  %(start)s - make_interval(hours => 2 * i) + interval '1 hour', %(price)s"
            " from generate_series(1, %(n)s) as i",
            {"client": client, "start": NOW, "price": MAX_PRICE, "n": n},
        )
        c.execute(
            "insert into lesson_participants (lesson_id, client_id)"
            " select id, %s from lessons where client_id = %s",
            (client, client),
        )
        return [r[0] for r in c.execute("select id from lesson_participants order by id")]


def test_the_bounds_are_the_databases(pg: TestDatabase) -> None:
    assert scalar(pg, "select private.max_price_cents()") == MAX_PRICE == MAX_PRICE_CENTS
    assert scalar(pg, "select private.max_payment_cents()") == MAX_PAYMENT


def test_largest_values_keep_every_cross_coach_read_working(pg: TestDatabase) -> None:
    rich, other = pg.sign_up(), pg.sign_up()
    client = make_client(pg, rich)
    charges = _past_charges(pg, rich, client, 150)
    with pg.as_coach(rich) as c:
        payment = rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=charges[:100],
            p_method="bank_transfer",
        )  # fmt: skip
    assert payment["amount_cents"] == MAX_PAYMENT
    book(pg, other, [make_client(pg, other)], NOW - hours(30), price_cents=MAX_PRICE)
    with pg.as_service() as c:
        balances = dict(c.execute("select client_id, unpaid_cents from client_balances").fetchall())
        dashboard = {
            r[0]: r[1:]
            for r in c.execute(
                "select coach_id, outstanding_cents, revenue_30_days_cents from coach_dashboard"
            )
        }
        total = c.execute("select sum(unpaid_cents) from client_balances").fetchone()
    assert balances[client] == 50 * MAX_PRICE
    assert dashboard[rich.id] == (50 * MAX_PRICE, MAX_PAYMENT)
    assert dashboard[other.id] == (MAX_PRICE, 0)
    assert total == (51 * MAX_PRICE,)


def test_a_payment_above_the_largest_is_refused(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    client = make_client(pg, coach)
    charges = _past_charges(pg, coach, client, 101)
    with raises_sql("23514"), pg.as_coach(coach) as c:
        rpc_one(c, "record_payment", p_client_id=client, p_participant_ids=charges, p_method="cash")
    assert scalar(pg, "select count(*) from payments") == 0
    assert scalar(pg, "select count(*) from lesson_participants where payment_status = 'paid'") == 0


@pytest.mark.parametrize(
    "statement",
    [
        "insert into lesson_types (name, duration_minutes, price_cents) values ('Gold', 60, %(p)s)",
        "insert into lessons (start_time, end_time, price_cents)"
        " values (now() + interval '1 day', now() + interval '25 hours', %(p)s)",
        "update lesson_participants set price_cents = %(p)s",
    ],
)
def test_a_coach_can_not_store_a_price_above_the_largest(pg: TestDatabase, statement: str) -> None:
    coach = pg.sign_up()
    book(pg, coach, [make_client(pg, coach)], NOW + hours(48))
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute(statement, {"p": MAX_PRICE + 1})
    with pg.as_coach(coach) as c:
        c.execute(statement, {"p": MAX_PRICE})


def test_server_code_can_not_store_a_payment_above_the_largest(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    client = make_client(pg, coach)
    for column in ("amount_cents", "credit_cents"):
        with raises_sql("23514"), pg.as_service() as c:
            c.execute(
                "insert into payments (coach_id, client_id, amount_cents, credit_cents, method)"
                " values (%(coach)s, %(client)s, 1, 0, 'cash') returning id",
                {"coach": coach.id, "client": client},
            )
            c.execute(f"update payments set {column} = %s", (MAX_PAYMENT + 1,))
    assert scalar(pg, "select count(*) from payments") == 0


def test_series_price_above_the_largest_is_refused(pg: TestDatabase) -> None:
    coach = pg.sign_up()
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        c.execute(
            "select create_recurring_lessons(p_client_ids => %s, p_first_start_time => %s,"
            " p_duration_minutes => 60, p_frequency => 'weekly', p_occurrences => 2,"
            " p_price_cents => %s)",
            ([make_client(pg, coach)], NOW + hours(24), MAX_PRICE + 1),
        )
    assert scalar(pg, "select count(*) from lessons") == 0

"""client_balances, coach_dashboard and lesson_history: the billing rule of the contract."""

from __future__ import annotations

import pytest

from tests.sql.conftest import NOW, book, hours, make_client, participant_ids, scalar


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _balance(pg, coach, client):
    with pg.as_coach(coach) as c:
        row = c.execute(
            "select unpaid_cents, unpaid_lessons, oldest_unpaid_at, last_lesson_at"
            " from client_balances where client_id = %s",
            (client,),
        ).fetchone()
    assert row is not None
    return row


def _set_status(pg, lesson, status):
    pg.admin.execute("update lessons set status = %s where id = %s", (status, lesson["id"]))


def test_future_lesson_is_not_billable(pg, coach):
    client = make_client(pg, coach)
    book(pg, coach, [client], NOW + hours(24), price_cents=4000)
    assert _balance(pg, coach, client)[:2] == (0, 0)


def test_lesson_in_progress_is_not_billable_yet(pg, coach):
    client = make_client(pg, coach)
    book(pg, coach, [client], NOW - hours(0.5), price_cents=4000)
    assert _balance(pg, coach, client)[:2] == (0, 0)


def test_scheduled_lesson_that_has_ended_is_billable(pg, coach):
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW - hours(3), price_cents=4000)
    assert _balance(pg, coach, client)[:3] == (4000, 1, lesson["start_time"])


@pytest.mark.parametrize(
    ("status", "billable"), [("completed", True), ("no_show", True), ("cancelled", False)]
)
def test_billing_by_lesson_status(pg, coach, status, billable):
    client = make_client(pg, coach)
    # a completed lesson in the future (marked early) is billable too; a cancelled past one never
    lesson = book(pg, coach, [client], NOW - hours(3), price_cents=4000)
    _set_status(pg, lesson, status)
    assert _balance(pg, coach, client)[0] == (4000 if billable else 0)


def test_paid_and_waived_charges_are_not_owed(pg, coach):
    client = make_client(pg, coach)
    paid = book(pg, coach, [client], NOW - hours(5), price_cents=1000)
    waived = book(pg, coach, [client], NOW - hours(3), price_cents=2000)
    owed = book(pg, coach, [client], NOW - hours(7), price_cents=4000)
    pg.admin.execute(
        "update lesson_participants set payment_status = 'waived' where lesson_id = %s",
        (waived["id"],),
    )
    with pg.as_coach(coach) as c:
        c.execute(
            "select record_payment(%s, %s, 'cash')", (client, participant_ids(pg, paid["id"]))
        )
    unpaid_cents, unpaid_lessons, oldest, last = _balance(pg, coach, client)
    assert (unpaid_cents, unpaid_lessons, oldest) == (4000, 1, owed["start_time"])
    assert last == waived["start_time"]


def test_client_without_lessons_has_a_zero_balance_row(pg, coach):
    client = make_client(pg, coach)
    assert _balance(pg, coach, client) == (0, 0, None, None)


def test_balance_sums_only_the_clients_own_charges(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    book(pg, coach, [ann], NOW - hours(3), price_cents=1000)
    book(pg, coach, [bob], NOW - hours(5), price_cents=7000)
    assert _balance(pg, coach, ann)[0] == 1000
    assert _balance(pg, coach, bob)[0] == 7000


def test_client_of_another_coach_is_not_in_the_balances(pg, coach):
    other = pg.sign_up()
    theirs = make_client(pg, other)
    book(pg, other, [theirs], NOW - hours(3))
    with pg.as_coach(coach) as c:
        assert c.execute("select count(*) from client_balances").fetchone()[0] == 0
        assert c.execute("select count(*) from lesson_history").fetchone()[0] == 0


def test_coach_dashboard_is_one_row_with_every_figure(pg, coach):
    ann, bob, cid = (make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid"))
    make_client(pg, coach, "Old", is_active=False)
    book(pg, coach, [ann], NOW - hours(3), price_cents=1000)
    book(pg, coach, [bob], NOW - hours(5), price_cents=2000)
    paid = book(pg, coach, [cid], NOW - hours(7), price_cents=4000)
    book(pg, coach, [ann], NOW + hours(24))
    book(pg, coach, [ann], NOW + hours(24 * 8))  # beyond 7 days
    with pg.as_coach(coach) as c:
        c.execute("select record_payment(%s, %s, 'cash')", (cid, participant_ids(pg, paid["id"])))
        rows = c.execute(
            "select coach_id, active_clients, outstanding_cents, clients_with_balance,"
            " lessons_next_7_days, revenue_30_days_cents from coach_dashboard"
        ).fetchall()
    assert rows == [(coach.id, 3, 3000, 2, 1, 4000)]


def test_coach_dashboard_of_a_new_coach_is_all_zero(pg, coach):
    with pg.as_coach(coach) as c:
        assert c.execute("select * from coach_dashboard").fetchall() == [(coach.id, 0, 0, 0, 0, 0)]


def test_dashboard_is_one_query_whatever_the_number_of_clients(pg, coach):
    pg.admin.execute(
        "insert into clients (coach_id, first_name) select %s, 'Client ' || n from"
        " generate_series(1, 100) n",
        (coach.id,),
    )
    with pg.as_coach(coach) as c:
        plan = c.execute("explain (format json) select * from coach_dashboard").fetchone()[0]
        assert c.execute("select active_clients from coach_dashboard").fetchone()[0] == 100
    assert plan[0]["Plan"]["Plan Rows"] >= 1


def test_lesson_history_lists_participants_of_started_lessons(pg, coach):
    ann = make_client(pg, coach, "Ann", last_name="Lee")
    past = book(pg, coach, [ann], NOW - hours(3), price_cents=1500)
    book(pg, coach, [ann], NOW + hours(3))
    with pg.as_coach(coach) as c:
        rows = c.execute(
            "select lesson_id, client_id, client_name, status, price_cents, payment_status"
            " from lesson_history"
        ).fetchall()
    assert rows == [(past["id"], ann, "Ann Lee", "scheduled", 1500, "unpaid")]
    assert scalar(pg, "select count(*) from lesson_participants") == 2

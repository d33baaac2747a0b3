"""record_payment, create_stripe_checkout_payment and settle_stripe_checkout."""

from __future__ import annotations

import uuid

import pytest

from tests.sql.conftest import (
    NOW,
    book,
    count,
    hours,
    make_client,
    participant_ids,
    raises_sql,
    rpc_one,
    scalar,
)


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _charge(pg, coach, client, start=None, price_cents=4000):
    lesson = book(
        pg,
        coach,
        [client],
        start or NOW - hours(3 + 2 * count(pg, "lessons")),
        price_cents=price_cents,
    )
    return participant_ids(pg, lesson["id"])[0]


def _pay(pg, coach, client, charges, method="cash"):
    with pg.as_coach(coach) as c:
        return rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=charges, p_method=method
        )


def _nothing_paid(pg):
    assert count(pg, "payments") == 0
    assert (
        count(pg, "lesson_participants", "payment_status = 'paid' or payment_id is not null") == 0
    )


# record_payment


def test_record_payment_amount_is_computed_by_the_database(pg, coach):
    client = make_client(pg, coach)
    charges = [_charge(pg, coach, client, price_cents=p) for p in (1000, 2500)]
    payment = _pay(pg, coach, client, charges, "card")
    assert (payment["amount_cents"], payment["status"], payment["method"]) == (
        3500,
        "succeeded",
        "card",
    )
    assert payment["currency"] == "usd"
    assert payment["paid_at"] is not None
    assert (
        count(
            pg, "lesson_participants", "payment_status = 'paid' and payment_id = %s", payment["id"]
        )
        == 2
    )


def test_double_payment_is_refused(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    _pay(pg, coach, client, [charge])
    with raises_sql("CB006", "already_paid"):
        _pay(pg, coach, client, [charge])
    assert count(pg, "payments") == 1


def test_concurrent_double_payment_pays_once(pg, coach):
    from tests.sql.conftest import Session, run_in_thread, wait_until_blocked

    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    first, second = Session(pg, coach.principal), Session(pg, coach.principal)
    try:
        first.conn.execute("select record_payment(%s, %s, 'cash')", (client, [charge]))
        thread, out = run_in_thread(
            lambda: second.conn.execute("select record_payment(%s, %s, 'cash')", (client, [charge]))
        )
        wait_until_blocked(pg, second.pid)
        first.conn.execute("commit")
        thread.join(10)
        assert getattr(out.get("error"), "sqlstate", None) == "CB006"
    finally:
        first.close()
        second.close()
    assert count(pg, "payments") == 1


def test_future_charge_is_not_payable(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client, start=NOW + hours(24))
    with raises_sql("CB007", "charge_not_payable"):
        _pay(pg, coach, client, [charge])
    _nothing_paid(pg)


def test_waived_charge_is_not_payable(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    pg.admin.execute("update lesson_participants set payment_status = 'waived'")
    with raises_sql("CB007", "charge_not_payable"):
        _pay(pg, coach, client, [charge])
    assert count(pg, "payments") == 0


def test_charge_of_another_client_is_refused(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    ann_charge, bob_charge = _charge(pg, coach, ann), _charge(pg, coach, bob)
    with raises_sql("CB007", "charge_not_payable"):
        _pay(pg, coach, ann, [ann_charge, bob_charge])
    _nothing_paid(pg)


def test_charge_of_another_coach_is_not_found(pg, coach):
    other = pg.sign_up()
    mine = make_client(pg, coach)
    theirs = _charge(pg, other, make_client(pg, other))
    with raises_sql("CB001", "not_found"):
        _pay(pg, coach, mine, [_charge(pg, coach, mine), theirs])
    _nothing_paid(pg)


def test_client_of_another_coach_is_not_found(pg, coach):
    other = pg.sign_up()
    theirs = make_client(pg, other)
    charge = _charge(pg, other, theirs)
    with raises_sql("CB001", "not_found"):
        _pay(pg, coach, theirs, [charge])
    _nothing_paid(pg)


def test_record_payment_refuses_invalid_arguments(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    for method, given in [
        ("bitcoin", [charge]),
        (None, [charge]),
        ("cash", []),
        ("cash", [charge, charge]),
    ]:
        with raises_sql("CB002", "invalid_argument"):
            _pay(pg, coach, client, given, method)
        _nothing_paid(pg)


def test_free_charges_are_nothing_to_pay(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client, price_cents=0)
    with raises_sql("CB002", "invalid_argument"):
        _pay(pg, coach, client, [charge])
    _nothing_paid(pg)


# Stripe


def _checkout(pg, coach, client, charges, session="cs_test_1"):
    with pg.as_service() as c:
        return rpc_one(
            c,
            "create_stripe_checkout_payment",
            p_coach_id=coach.id,
            p_client_id=client,
            p_participant_ids=charges,
            p_checkout_session_id=session,
        )


def _settle(pg, event="evt_1", session="cs_test_1", amount=4000):
    with pg.as_service() as c:
        return rpc_one(
            c,
            "settle_stripe_checkout",
            p_event_id=event,
            p_checkout_session_id=session,
            p_payment_intent_id="pi_1",
            p_amount_cents=amount,
        )


@pytest.mark.parametrize("function", ["create_stripe_checkout_payment", "settle_stripe_checkout"])
def test_stripe_functions_are_service_role_only(pg, function):
    for role in ("anon", "authenticated", "public"):
        assert not scalar(
            pg,
            "select bool_or(has_function_privilege(%s, p.oid, 'execute')) from pg_proc p"
            " where p.proname = %s and p.pronamespace = 'public'::regnamespace",
            role,
            function,
        )
    assert scalar(
        pg,
        "select bool_and(has_function_privilege('service_role', p.oid, 'execute')) from pg_proc p"
        " where p.proname = %s",
        function,
    )


def test_coach_can_not_create_a_checkout_payment(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "select create_stripe_checkout_payment(%s, %s, %s, 'cs_x')",
            (coach.id, client, [charge]),
        )
    _nothing_paid(pg)


def test_checkout_creates_a_pending_payment_and_settling_pays_the_charges(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    pending = _checkout(pg, coach, client, [charge])
    assert (pending["status"], pending["amount_cents"], pending["method"]) == (
        "pending",
        4000,
        "stripe",
    )
    assert (
        count(
            pg,
            "lesson_participants",
            "payment_status = 'unpaid' and payment_id = %s",
            pending["id"],
        )
        == 1
    )
    settled = _settle(pg)
    assert (settled["status"], settled["credit_cents"], settled["stripe_payment_intent_id"]) == (
        "succeeded",
        0,
        "pi_1",
    )
    assert (
        count(
            pg, "lesson_participants", "payment_status = 'paid' and payment_id = %s", pending["id"]
        )
        == 1
    )
    assert scalar(pg, "select processed_at is not null from stripe_events where id = 'evt_1'")


def test_checkout_refuses_charges_of_another_coach(pg, coach):
    other = pg.sign_up()
    client = make_client(pg, coach)
    theirs = _charge(pg, other, make_client(pg, other))
    with raises_sql("CB001", "not_found"):
        _checkout(pg, coach, client, [_charge(pg, coach, client), theirs])
    _nothing_paid(pg)


def test_checkout_refuses_unknown_coach(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with raises_sql("CB001", "not_found"), pg.as_service() as c:
        rpc_one(
            c,
            "create_stripe_checkout_payment",
            p_coach_id=uuid.uuid4(),
            p_client_id=client,
            p_participant_ids=[charge],
            p_checkout_session_id="cs_1",
        )
    _nothing_paid(pg)


def test_checkout_refuses_paid_charge(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    _pay(pg, coach, client, [charge])
    with raises_sql("CB006", "already_paid"):
        _checkout(pg, coach, client, [charge])
    assert count(pg, "payments") == 1


def test_settle_is_idempotent_per_event_and_per_session(pg, coach):
    client = make_client(pg, coach)
    _checkout(pg, coach, client, [_charge(pg, coach, client)])
    first = _settle(pg, event="evt_1")
    again = _settle(pg, event="evt_1")
    other_event = _settle(pg, event="evt_2")
    assert first["updated_at"] == again["updated_at"] == other_event["updated_at"]
    assert count(pg, "payments", "status = 'succeeded'") == 1
    assert count(pg, "stripe_events", "processed_at is not null") == 2


def test_charge_paid_otherwise_meanwhile_becomes_credit(pg, coach):
    client = make_client(pg, coach)
    a, b = (
        _charge(pg, coach, client, price_cents=1000),
        _charge(pg, coach, client, price_cents=3000),
    )
    pending = _checkout(pg, coach, client, [a, b])
    cash = _pay(pg, coach, client, [b])
    settled = _settle(pg, amount=4000)
    assert (settled["status"], settled["credit_cents"]) == ("succeeded", 3000)
    payments = dict(pg.admin.execute("select id, payment_id from lesson_participants").fetchall())
    assert payments == {a: pending["id"], b: cash["id"]}


def test_settle_refuses_a_different_amount(pg, coach):
    client = make_client(pg, coach)
    _checkout(pg, coach, client, [_charge(pg, coach, client)])
    with raises_sql("CB011", "payment_mismatch"):
        _settle(pg, amount=3999)
    assert count(pg, "payments", "status = 'pending'") == 1
    assert count(pg, "lesson_participants", "payment_status = 'unpaid'") == 1
    assert count(pg, "stripe_events") == 0


def test_settle_refuses_unknown_session(pg, coach):
    with raises_sql("CB001", "not_found"):
        _settle(pg, session="cs_nope")
    assert count(pg, "stripe_events") == 0


def test_settle_refuses_a_failed_payment(pg, coach):
    client = make_client(pg, coach)
    _checkout(pg, coach, client, [_charge(pg, coach, client)])
    pg.admin.execute("update payments set status = 'failed'")
    with raises_sql("CB013", "payment_not_pending"):
        _settle(pg)
    assert count(pg, "lesson_participants", "payment_status = 'unpaid'") == 1


def test_charge_of_a_cancelled_lesson_is_not_payable(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    pg.admin.execute("update lessons set status = 'cancelled'")  # charge left 'unpaid' on purpose
    with raises_sql("CB007", "charge_not_payable"):
        _pay(pg, coach, client, [charge])
    _nothing_paid(pg)


def test_checkout_refuses_charge_of_another_client(pg, coach):
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    with raises_sql("CB007", "charge_not_payable"):
        _checkout(pg, coach, ann, [_charge(pg, coach, bob)])
    _nothing_paid(pg)


def test_checkout_refuses_blank_session_and_reused_session(pg, coach):
    client = make_client(pg, coach)
    a, b = _charge(pg, coach, client), _charge(pg, coach, client)
    with raises_sql("CB002", "invalid_argument"):
        _checkout(pg, coach, client, [a], session=" ")
    _nothing_paid(pg)
    _checkout(pg, coach, client, [a], session="cs_same")
    with raises_sql("23505"):
        _checkout(pg, coach, client, [b], session="cs_same")
    assert count(pg, "payments") == 1
    assert count(pg, "lesson_participants", "payment_id is not null") == 1

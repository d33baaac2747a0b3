"""Stripe's webhooks: each event settles exactly once, whatever the order or the repetition.

Stripe's API is the local fake (fake_stripe.py); bodies are signed with
Stripe's real scheme and verified by the `stripe` library.
"""

from __future__ import annotations

import time

import pytest

from backend.api.app import create_app
from backend.app import Backend
from backend.gateway.direct import DirectGateway
from tests.api.harness import Api, event_for, owing_client, signed


def open_checkout(api, token, client_id, **json):
    response = api.request(
        "POST", "/payments/checkout", token=token, json={"client_id": str(client_id), **json}
    )
    assert response.status_code == 201, response.text
    return response.json()


def deliver(api, event, **kw):
    body, headers = signed(event, **kw)
    return api.request("POST", "/webhooks/stripe", content=body, headers=headers)


def session_of(fake_stripe, payment_id):
    return next(
        s for s in fake_stripe.sessions.values() if s["metadata"]["payment_id"] == payment_id
    )


def payment_row(pg, payment_id):
    return pg.admin.execute(
        "select status, amount_cents, credit_cents, refunded_cents from payments where id = %s",
        (payment_id,),
    ).fetchone()


def charge_states(pg, client_id):
    rows = pg.admin.execute(
        "select payment_status, payment_id from lesson_participants where client_id = %s",
        (client_id,),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def stored_events(pg):
    return pg.admin.execute("select id, outcome from stripe_events order by received_at").fetchall()


@pytest.fixture
def pending(api, token, svc, fake_stripe):
    """A client owing two 50.00 charges and the open checkout for them."""
    client, _ = owing_client(svc, lessons=2)
    opened = open_checkout(api, token, client.id)
    return client, opened, session_of(fake_stripe, opened["payment_id"])


def test_a_duplicate_event_is_answered_200_and_changes_nothing(api, pg, fake_stripe, pending):
    _client, opened, session = pending
    event = event_for("checkout.session.completed", fake_stripe.complete(session["id"]))
    assert deliver(api, event).json()["outcome"] == "settled"
    before = payment_row(pg, opened["payment_id"])

    again = deliver(api, event)

    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert payment_row(pg, opened["payment_id"]) == before


def test_the_same_event_ten_times_at_once_settles_once(api, pg, fake_stripe, pending):
    _client, opened, session = pending
    body, headers = signed(
        event_for("checkout.session.completed", fake_stripe.complete(session["id"]))
    )

    answers = api.concurrently(
        [("POST", "/webhooks/stripe", {"content": body, "headers": headers})] * 10
    )

    assert [a.status_code for a in answers] == [200] * 10
    settlements = pg.admin.execute(
        "select count(*) from audit_log where table_name = 'payments' and action = 'UPDATE'"
        " and old_data ->> 'status' = 'pending' and new_data ->> 'status' = 'succeeded'"
    ).fetchone()[0]
    assert settlements == 1
    assert payment_row(pg, opened["payment_id"])[:3] == ("succeeded", 10000, 0)


@pytest.mark.parametrize(
    "late", ["checkout.session.expired", "checkout.session.async_payment_failed"]
)
def test_a_late_failure_after_success_changes_nothing(api, pg, fake_stripe, pending, late):
    client, opened, session = pending
    paid = fake_stripe.complete(session["id"])
    deliver(api, event_for("checkout.session.completed", paid))

    answer = deliver(api, event_for(late, paid))

    assert (answer.status_code, answer.json()["outcome"]) == (200, "ignored")
    assert payment_row(pg, opened["payment_id"])[0] == "succeeded"
    assert {s for s, _ in charge_states(pg, client.id)} == {"paid"}


def test_an_expired_checkout_fails_and_its_charges_are_payable_again(
    api, token, pg, fake_stripe, pending
):
    client, opened, session = pending

    answer = deliver(api, event_for("checkout.session.expired", fake_stripe.expire(session["id"])))

    assert answer.json()["outcome"] == "failed"
    assert payment_row(pg, opened["payment_id"])[0] == "failed"
    assert charge_states(pg, client.id) == [("unpaid", None), ("unpaid", None)]
    assert open_checkout(api, token, client.id)["payment_id"] != opened["payment_id"]


def test_an_async_payment_settles_on_its_success_event_only(api, pg, fake_stripe, pending):
    _client, opened, session = pending
    waiting = fake_stripe.complete(session["id"], payment_status="unpaid")

    first = deliver(api, event_for("checkout.session.completed", waiting))
    assert (first.json()["outcome"], payment_row(pg, opened["payment_id"])[0]) == (
        "ignored",
        "pending",
    )

    paid = fake_stripe.complete(session["id"])
    second = deliver(api, event_for("checkout.session.async_payment_succeeded", paid))
    assert (second.json()["outcome"], payment_row(pg, opened["payment_id"])[0]) == (
        "settled",
        "succeeded",
    )


def test_an_event_for_an_unknown_session_is_stored_as_unmatched(api, pg):
    event = event_for(
        "checkout.session.completed",
        {"id": "cs_test_nobody", "payment_status": "paid", "amount_total": 100, "currency": "usd"},
    )

    answer = deliver(api, event)

    assert (answer.status_code, answer.json()["outcome"]) == (200, "unmatched")
    assert stored_events(pg) == [(event["id"], "unmatched")]


def test_an_unhandled_event_type_is_stored_and_ignored(api, pg):
    event = event_for("customer.created", {"id": "cus_1"})

    assert deliver(api, event).json()["outcome"] == "ignored"
    assert stored_events(pg) == [(event["id"], "ignored")]


def test_a_tampered_body_is_400_and_nothing_is_stored(api, pg, fake_stripe, pending):
    _client, opened, session = pending
    body, headers = signed(
        event_for("checkout.session.completed", fake_stripe.complete(session["id"]))
    )

    answer = api.request(
        "POST", "/webhooks/stripe", content=body.replace(b"10000", b"10001"), headers=headers
    )

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["key"] == "invalid_signature"
    assert stored_events(pg) == []
    assert payment_row(pg, opened["payment_id"])[0] == "pending"


@pytest.mark.parametrize("how", ["expired", "missing", "other secret"])
def test_an_old_missing_or_foreign_signature_is_400(api, pg, how):
    event = event_for("customer.created", {"id": "cus_1"})
    if how == "expired":
        body, headers = signed(event, at=int(time.time()) - 301)
    elif how == "missing":
        body, headers = signed(event)
        headers = {}
    else:
        body, headers = signed(event, secret="whsec_someone_else")

    answer = api.request("POST", "/webhooks/stripe", content=body, headers=headers)

    assert (answer.status_code, answer.json()["key"]) == (400, "invalid_signature")
    assert stored_events(pg) == []


def test_a_full_refund_refunds_the_payment_and_its_charges(api, pg, fake_stripe, pending):
    client, opened, session = pending
    paid = fake_stripe.complete(session["id"])
    deliver(api, event_for("checkout.session.completed", paid))
    charge = {"id": "ch_1", "payment_intent": paid["payment_intent"], "amount_refunded": 10000}

    answer = deliver(api, event_for("charge.refunded", charge))

    assert answer.json()["outcome"] == "refunded"
    assert payment_row(pg, opened["payment_id"]) == ("refunded", 10000, 0, 10000)
    assert {s for s, _ in charge_states(pg, client.id)} == {"refunded"}
    balance = pg.admin.execute(
        "select unpaid_cents from client_balances where client_id = %s", (client.id,)
    ).fetchone()[0]
    assert balance == 0


def test_partial_refunds_are_recorded_whatever_their_order(api, pg, fake_stripe, pending):
    client, opened, session = pending
    paid = fake_stripe.complete(session["id"])
    deliver(api, event_for("checkout.session.completed", paid))
    later = {"id": "ch_1", "payment_intent": paid["payment_intent"], "amount_refunded": 3000}
    earlier = {**later, "amount_refunded": 1000}

    deliver(api, event_for("charge.refunded", later))
    deliver(api, event_for("charge.refunded", earlier))

    assert payment_row(pg, opened["payment_id"]) == ("succeeded", 10000, 0, 3000)
    assert {s for s, _ in charge_states(pg, client.id)} == {"paid"}


def test_an_amount_that_disagrees_is_flagged_not_accepted(api, pg, fake_stripe, pending):
    _client, opened, session = pending
    paid = {**fake_stripe.complete(session["id"]), "amount_total": 100}

    answer = deliver(api, event_for("checkout.session.completed", paid))

    assert (answer.status_code, answer.json()["outcome"]) == (200, "payment_mismatch")
    assert payment_row(pg, opened["payment_id"])[0] == "pending"
    assert stored_events(pg)[0][1] == "payment_mismatch"


def test_a_charge_paid_in_cash_meanwhile_becomes_credit(api, svc, pg, fake_stripe, pending):
    client, opened, session = pending
    first = svc.payments.charges(client.id).items[0]
    svc.payments.record(client_id=client.id, participant_ids=[first.id], method="cash")

    deliver(api, event_for("checkout.session.completed", fake_stripe.complete(session["id"])))

    assert payment_row(pg, opened["payment_id"])[:3] == ("succeeded", 10000, 5000)


def test_events_of_another_connected_account_settle_nothing(
    api, token, svc, pg, coach, fake_stripe
):
    pg.admin.execute(
        "update coaches set stripe_account_id = 'acct_coach' where id = %s", (coach.id,)
    )
    client, _ = owing_client(svc, lessons=1)
    opened = open_checkout(api, token, client.id)
    session = session_of(fake_stripe, opened["payment_id"])
    assert fake_stripe.creations()[0].headers["stripe-account"] == "acct_coach"
    paid = fake_stripe.complete(session["id"])

    foreign = deliver(api, event_for("checkout.session.completed", paid, account="acct_other"))
    assert (foreign.json()["outcome"], payment_row(pg, opened["payment_id"])[0]) == (
        "account_mismatch",
        "pending",
    )

    own = deliver(api, event_for("checkout.session.completed", paid, account="acct_coach"))
    assert (own.json()["outcome"], payment_row(pg, opened["payment_id"])[0]) == (
        "settled",
        "succeeded",
    )


def test_a_database_outage_is_503_and_the_replay_settles_once(
    api, backend, pg, fake_stripe, pending
):
    _client, opened, session = pending
    event = event_for("checkout.session.completed", fake_stripe.complete(session["id"]))
    unreachable = DirectGateway("postgresql://postgres@127.0.0.1:1/none", min_size=0, timeout=0.5)
    down = Backend(backend.settings, unreachable)
    try:
        during = deliver(Api(create_app(down)), event)
    finally:
        down.close()

    assert during.status_code == 503
    assert payment_row(pg, opened["payment_id"])[0] == "pending"
    after = deliver(api, event)
    assert (after.json()["outcome"], payment_row(pg, opened["payment_id"])[0]) == (
        "settled",
        "succeeded",
    )
    assert deliver(api, event).json()["outcome"] == "duplicate"

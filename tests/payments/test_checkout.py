"""Checkout: amounts from the database, one session per set of charges, nothing half-done.

Stripe's API is the local fake (fake_stripe.py), which records what was sent.
"""

from __future__ import annotations

import uuid

from tests.api.harness import owing_client, token_for


def checkout(api, token, client_id, headers=None, **json):
    return api.request(
        "POST",
        "/payments/checkout",
        token=token,
        json={"client_id": str(client_id), **json},
        headers=headers or {},
    )


def pending_payments(pg):
    return pg.admin.execute("select count(*) from payments where status = 'pending'").fetchone()[0]


def test_a_retried_checkout_returns_the_same_session(api, token, svc, fake_stripe):
    client, _ = owing_client(svc)

    first = checkout(api, token, client.id).json()
    second = checkout(api, token, client.id).json()

    assert first == second
    assert len(fake_stripe.creations()) == 1


def test_the_idempotency_key_is_sent_to_stripe_scoped_to_the_coach(
    api, token, coach, svc, fake_stripe
):
    client, _ = owing_client(svc)

    checkout(api, token, client.id, headers={"Idempotency-Key": "order-42"})

    assert fake_stripe.creations()[0].headers["idempotency-key"] == f"checkout:{coach.id}:order-42"


def test_named_charges_only_are_put_in_the_checkout(api, token, svc, pg, fake_stripe):
    client, charges = owing_client(svc, lessons=3, price_cents=2000)

    opened = checkout(api, token, client.id, participant_ids=[str(charges[0].id)])

    assert opened.status_code == 201
    sent = fake_stripe.creations()[0].params
    assert "line_items[1][quantity]" not in sent
    amount = pg.admin.execute(
        "select amount_cents from payments where id = %s", (opened.json()["payment_id"],)
    ).fetchone()[0]
    assert amount == 2000


def test_each_line_names_the_lesson_date_and_title(api, token, svc, fake_stripe):
    client, _ = owing_client(svc, lessons=1)

    checkout(api, token, client.id)

    name = fake_stripe.creations()[0].params["line_items[0][price_data][product_data][name]"]
    assert name.endswith(" Forehand 1") and name[:4].isdigit()


def test_another_coachs_client_is_not_found_and_stripe_is_not_called(api, pg, svc, fake_stripe):
    client, _ = owing_client(svc)
    intruder = token_for(pg.sign_up().id)

    refused = checkout(api, intruder, client.id)

    assert (refused.status_code, refused.json()["key"]) == (404, "not_found")
    assert fake_stripe.creations() == []
    assert pending_payments(pg) == 0


def test_a_client_who_owes_nothing_gets_no_session(api, token, svc, fake_stripe):
    client = svc.clients.create(first_name="Zoe")

    refused = checkout(api, token, client.id)

    assert (refused.status_code, refused.json()["key"]) == (409, "nothing_to_pay")
    assert fake_stripe.creations() == []


def test_a_charge_that_is_not_the_clients_is_refused_before_stripe(api, token, svc, fake_stripe):
    client, _ = owing_client(svc)

    refused = checkout(api, token, client.id, participant_ids=[str(uuid.uuid4())])

    assert refused.status_code == 409
    assert fake_stripe.creations() == []


def test_when_recording_fails_the_new_session_is_expired(api, token, svc, pg, fake_stripe):
    client, charges = owing_client(svc, lessons=1)
    # The charge is paid in cash while Stripe creates the session, before it is recorded.
    original = fake_stripe._create

    def create_then_pay_in_cash(params, headers):
        session = original(params, headers)
        svc.payments.record(client_id=client.id, participant_ids=[charges[0].id], method="cash")
        return session

    fake_stripe._create = create_then_pay_in_cash

    refused = checkout(api, token, client.id)

    assert (refused.status_code, refused.json()["key"]) == (409, "already_paid")
    [session] = fake_stripe.sessions.values()
    assert session["status"] == "expired"
    assert pending_payments(pg) == 0


def test_bad_input_is_a_422_problem_naming_the_field(api, token):
    refused = checkout(api, token, "not-a-uuid")

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "client_id" in refused.json()["errors"]


def test_checkout_counts_against_the_payment_limit(api, token, svc, fake_stripe):
    client, _ = owing_client(svc)

    answers = [checkout(api, token, client.id).status_code for _ in range(11)]

    assert answers[:10] == [201] * 10 and answers[10] == 429

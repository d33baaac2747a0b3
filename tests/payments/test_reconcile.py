"""Reconciliation settles or fails, exactly as the webhook would, the checkouts whose event
never came. Stripe's API is the local fake (fake_stripe.py)."""

from __future__ import annotations

from datetime import timedelta

from backend.payments.reconcile import Reconciler
from backend.payments.stripe_api import StripeCheckouts
from tests.api.harness import STRIPE_KEY, event_for, owing_client, signed


def opened_checkout(api, token, svc, fake_stripe):
    client, _ = owing_client(svc)
    opened = api.request(
        "POST", "/payments/checkout", token=token, json={"client_id": str(client.id)}
    ).json()
    session = next(iter(fake_stripe.sessions.values()))
    return client, opened["payment_id"], session


def reconciler(backend, fake_stripe):
    stripe = StripeCheckouts(STRIPE_KEY, api_base=fake_stripe.url)
    return Reconciler(backend.gateway.administrative_session(), stripe)


def status_of(pg, payment_id):
    return pg.admin.execute("select status from payments where id = %s", (payment_id,)).fetchone()[
        0
    ]


def test_a_paid_session_whose_webhook_never_came_is_settled_once(
    api, token, svc, pg, backend, fake_stripe
):
    client, payment_id, session = opened_checkout(api, token, svc, fake_stripe)
    paid = fake_stripe.complete(session["id"])

    report = reconciler(backend, fake_stripe).run(timedelta(0))

    assert (report.examined, dict(report.outcomes)) == (1, {"settled": 1})
    assert status_of(pg, payment_id) == "succeeded"
    assert svc.reads.balance(client.id).unpaid_cents == 0
    late = signed(event_for("checkout.session.completed", paid))
    answer = api.request("POST", "/webhooks/stripe", content=late[0], headers=late[1])
    assert answer.json()["outcome"] == "settled"  # nothing left to do: the payment stays as is
    assert reconciler(backend, fake_stripe).run(timedelta(0)).examined == 0


def test_an_expired_session_fails_its_payment(api, token, svc, pg, backend, fake_stripe):
    _client, payment_id, session = opened_checkout(api, token, svc, fake_stripe)
    fake_stripe.expire(session["id"])

    report = reconciler(backend, fake_stripe).run(timedelta(0))

    assert dict(report.outcomes) == {"failed": 1}
    assert status_of(pg, payment_id) == "failed"


def test_an_open_session_and_a_young_payment_are_left_alone(
    api, token, svc, pg, backend, fake_stripe
):
    _client, payment_id, session = opened_checkout(api, token, svc, fake_stripe)

    assert dict(reconciler(backend, fake_stripe).run(timedelta(0)).outcomes) == {"still_open": 1}
    fake_stripe.complete(session["id"])
    assert reconciler(backend, fake_stripe).run(timedelta(minutes=30)).examined == 0
    assert status_of(pg, payment_id) == "pending"

"""The money path end to end: checkout, Stripe's signed event, the charges paid exactly once.

Stripe's API is the local fake (tests/payments/fake_stripe.py): Stripe itself
can not be reached from the tests. Webhook bodies are signed with Stripe's
real scheme and verified by the `stripe` library.
"""

from __future__ import annotations

from tests.api.harness import event_for, owing_client, signed


def checkout(api, token, client_id, **kw):
    headers = kw.pop("headers", {})
    return api.request(
        "POST",
        "/payments/checkout",
        token=token,
        json={"client_id": str(client_id), **kw},
        headers=headers,
    )


def deliver(api, event, **kw):
    body, headers = signed(event, **kw)
    return api.request("POST", "/webhooks/stripe", content=body, headers=headers)


def completed(fake_stripe, session_id, account=None):
    return event_for(
        "checkout.session.completed", fake_stripe.complete(session_id), account=account
    )


def test_checkout_then_completed_event_pays_every_charge_once(api, token, svc, pg, fake_stripe):
    client, _charges = owing_client(svc, lessons=2, price_cents=4500)

    opened = checkout(api, token, client.id, headers={"X-Request-Id": "req-checkout-1"})
    assert opened.status_code == 201, opened.text
    [sent] = fake_stripe.creations()
    assert [sent.params[f"line_items[{i}][price_data][unit_amount]"] for i in (0, 1)] == [
        "4500",
        "4500",
    ]
    assert sent.params["metadata[payment_id]"] == opened.json()["payment_id"]
    assert sent.headers["idempotency-key"].startswith("checkout:")

    session_id = sent and fake_stripe.sessions and next(iter(fake_stripe.sessions))
    delivered = deliver(api, completed(fake_stripe, session_id))
    assert (delivered.status_code, delivered.json()["outcome"]) == (200, "settled")

    assert svc.reads.balance(client.id).unpaid_cents == 0
    assert {c.payment_status for c in svc.payments.charges(client.id, None).items} == {"paid"}
    [payment] = svc.payments.list(client.id).items
    assert (payment.status, payment.amount_cents, payment.credit_cents) == ("succeeded", 9000, 0)
    logged = pg.admin.execute(
        "select count(*) from audit_log where table_name = 'payments'"
        " and new_data ->> 'id' = %s and request_id = 'req-checkout-1'",
        (str(payment.id),),
    ).fetchone()
    assert logged[0] >= 1

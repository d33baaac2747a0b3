"""Reconciliation: settle or fail the pending checkouts whose webhook never came.

For every pending Stripe payment older than a threshold, the Checkout Session
is read from Stripe and replayed as the event Stripe would have sent
(`checkout.session.completed` or `checkout.session.expired`), through the same
`WebhookProcessor` as the webhook. Its event id is derived from the session
and its state, so reconciling twice changes nothing, and a webhook arriving
afterwards finds the payment already settled.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backend.gateway.base import Filter, Order, Select, Session, eq
from backend.models import Payment
from backend.payments.stripe_api import CheckoutSession, StripeCheckouts
from backend.payments.webhooks import Event, WebhookProcessor, coach_by_id
from backend.services.base import SyncService, page_of

log = logging.getLogger("backend.payments")


@dataclass
class ReconcileReport:
    examined: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def replayed_event(session: CheckoutSession, account: str | None) -> Event | None:
    """The event Stripe would have sent for this session's state; None while it is still open."""
    if session.status == "complete" and session.payment_status == "paid":
        event_type = "checkout.session.completed"
    elif session.status == "expired":
        event_type = "checkout.session.expired"
    else:
        return None
    payload = {
        "id": f"reconcile:{session.id}:{session.status}",
        "object": "event",
        "type": event_type,
        "account": account,
        "data": {"object": session.as_object()},
    }
    return Event.from_payload(payload)


class Reconciler(SyncService):
    def __init__(self, admin: Session, stripe: StripeCheckouts) -> None:
        super().__init__(admin)
        self._stripe = stripe
        self._processor = WebhookProcessor(admin)

    def run(
        self,
        older_than: timedelta,
        *,
        now: datetime | None = None,
        progress: Callable[[Payment, str], None] | None = None,
    ) -> ReconcileReport:
        cutoff = (now or datetime.now(UTC)) - older_than
        report = ReconcileReport()
        select = Select(
            "payments",
            (eq("method", "stripe"), eq("status", "pending"), Filter("created_at", "lt", cutoff)),
            order=(Order("created_at"), Order("id")),
        )
        cursor: str | None = None
        while True:
            page = self._call(page_of(Payment, select, limit=100, cursor=cursor))
            for payment in page.items:
                outcome = self._reconcile(payment)
                report.examined += 1
                report.outcomes[outcome] += 1
                if progress is not None:
                    progress(payment, outcome)
            if page.next_cursor is None:
                return report
            cursor = page.next_cursor

    def _reconcile(self, payment: Payment) -> str:
        if not payment.stripe_checkout_session_id:
            return "no_session"
        coach = self._call(coach_by_id(payment.coach_id))
        session = self._stripe.retrieve(
            payment.stripe_checkout_session_id, account=coach.stripe_account_id
        )
        event = replayed_event(session, coach.stripe_account_id)
        if event is None:
            return "still_open"
        return self._processor.receive(event)

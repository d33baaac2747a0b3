"""Stripe's webhooks: verify, store, decide, apply; each event settles exactly once.

1. The signature is checked on the raw body by the `stripe` library (5 minutes
   of tolerance); a bad one is refused before anything is stored.
2. The event is stored (`record_stripe_event`, insert or ignore on its id); an
   event already processed is a duplicate and changes nothing.
3. `decide` turns the event into an `Action` (plain data, no I/O).
4. `apply` runs the action as one database function, which locks the payment,
   checks the event again and marks it processed in the same transaction:
   concurrent deliveries take turns, and a crash rolls everything back, so the
   next delivery picks the event up again.

The database being unreachable is `Unavailable` (HTTP 503): Stripe retries.
Every other outcome (ignored, unmatched, a mismatch) is recorded on the event
and answered 200, since a 4xx makes Stripe disable the endpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import stripe

from backend.errors import InvalidWebhook, NotFound, PaymentMismatch, PaymentNotPending
from backend.gateway.base import Rpc, Select, Session, eq
from backend.models import Coach, Payment
from backend.services.base import Operation, SyncService, parse_row, parse_rows

log = logging.getLogger("backend.payments")

SIGNATURE_TOLERANCE_SECONDS = 300

Outcome = Literal[
    "settled",
    "failed",
    "refunded",
    "ignored",
    "unmatched",
    "duplicate",
    "payment_mismatch",
    "account_mismatch",
]


# --- what an event means: plain data --------------------------------------------------------


@dataclass(frozen=True)
class Settle:
    session_id: str
    payment_intent: str | None
    amount_cents: int | None
    currency: str | None


@dataclass(frozen=True)
class Fail:
    session_id: str


@dataclass(frozen=True)
class Refund:
    payment_intent: str
    amount_refunded: int


@dataclass(frozen=True)
class Ignore:
    reason: str


Action: TypeAlias = Settle | Fail | Refund | Ignore


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    account: str | None
    object: Mapping[str, Any]
    payload: Mapping[str, Any]

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Event:
        data = payload.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        event_id, event_type = payload.get("id"), payload.get("type")
        if not isinstance(event_id, str) or not isinstance(event_type, str) or not event_id:
            raise InvalidWebhook("the event has no id or type")
        account = payload.get("account")
        return cls(
            id=event_id,
            type=event_type,
            account=account if isinstance(account, str) and account else None,
            object=obj if isinstance(obj, Mapping) else {},
            payload=payload,
        )


def decide(event: Event) -> Action:
    """What an event asks of the database; every type not named here is ignored."""
    obj = event.object
    session_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    match event.type:
        case "checkout.session.completed" | "checkout.session.async_payment_succeeded":
            if session_id is None:
                return Ignore("no checkout session in the event")
            if obj.get("payment_status") != "paid":
                return Ignore("the payment is not complete yet (asynchronous method)")
            intent = obj.get("payment_intent")
            amount = obj.get("amount_total")
            currency = obj.get("currency")
            return Settle(
                session_id=session_id,
                payment_intent=intent if isinstance(intent, str) else None,
                amount_cents=amount if isinstance(amount, int) else None,
                currency=currency.lower() if isinstance(currency, str) else None,
            )
        case "checkout.session.async_payment_failed" | "checkout.session.expired":
            if session_id is None:
                return Ignore("no checkout session in the event")
            return Fail(session_id)
        case "charge.refunded":
            intent = obj.get("payment_intent")
            refunded = obj.get("amount_refunded")
            if not isinstance(intent, str) or not isinstance(refunded, int):
                return Ignore("a refund without a payment intent or amount")
            return Refund(intent, refunded)
    return Ignore(f"{event.type} is not handled")


def verify(payload: bytes, signature: str | None, secret: str) -> Event:
    """The event of a correctly signed body, else `InvalidWebhook` (nothing is stored)."""
    if not signature:
        raise InvalidWebhook("the Stripe-Signature header is missing")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, SIGNATURE_TOLERANCE_SECONDS
        )
        parsed = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(f"the signature does not verify: {exc.user_message}") from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidWebhook("the body is not a JSON event") from None
    if not isinstance(parsed, Mapping):
        raise InvalidWebhook("the body is not a JSON event")
    return Event.from_payload(parsed)


# --- the database side -----------------------------------------------------------------------


def _record_event(event: Event) -> Operation[bool]:
    params = {
        "p_event_id": event.id,
        "p_type": event.type,
        "p_account_id": event.account,
        "p_payload": json.dumps(event.payload, separators=(",", ":")),
    }
    return Operation(Rpc("record_stripe_event", params, returns="scalar"), lambda v: bool(v))


def _finish(event_id: str, outcome: Outcome) -> Operation[bool]:
    params = {"p_event_id": event_id, "p_outcome": outcome}
    return Operation(Rpc("finish_stripe_event", params, returns="scalar"), lambda v: bool(v))


def _payment_by(column: str, value: str) -> Operation[Payment | None]:
    request = Select("payments", (eq(column, value),), limit=1)
    return Operation(request, lambda rows: next(iter(parse_rows(Payment, rows)), None))


def coach_by_id(coach_id: Any) -> Operation[Coach]:
    request = Select("coaches", (eq("id", coach_id),), single=True)
    return Operation(request, lambda row: parse_row(Coach, row))


def _payment(function: str, params: Mapping[str, Any]) -> Operation[Payment]:
    return Operation(Rpc(function, params), lambda raw: parse_row(Payment, raw))


class WebhookProcessor(SyncService):
    """Applies Stripe events as server code (`service_role`): the webhook and reconciliation."""

    def __init__(self, admin: Session) -> None:
        super().__init__(admin)

    def receive(self, event: Event) -> Outcome:
        """Store the event, then process it unless an earlier delivery already did."""
        if self._call(_record_event(event)):
            log.info("stripe event %s (%s) is a duplicate", event.id, event.type)
            return "duplicate"
        outcome = self.apply(event, decide(event))
        log.info(
            "stripe event %s (%s): %s",
            event.id,
            event.type,
            outcome,
            extra={"stripe_event": event.id, "outcome": outcome},
        )
        return outcome

    def apply(self, event: Event, action: Action) -> Outcome:
        match action:
            case Ignore():
                return self._finish(event, "ignored")
            case Settle():
                return self._settle(event, action)
            case Fail():
                return self._fail(event, action)
            case Refund():
                return self._refund(event, action)
        raise TypeError(f"not an action: {action!r}")  # pragma: no cover

    def _finish(self, event: Event, outcome: Outcome) -> Outcome:
        self._call(_finish(event.id, outcome))
        return outcome

    def _owned(self, event: Event, payment: Payment | None) -> Outcome | None:
        """Why this event may not touch this payment, or None when it may."""
        if payment is None:
            log.warning("stripe event %s matches no payment", event.id)
            return "unmatched"
        coach = self._call(coach_by_id(payment.coach_id))
        if event.account != coach.stripe_account_id:
            log.error(
                "stripe event %s comes from account %s, not the coach's %s",
                event.id,
                event.account,
                coach.stripe_account_id,
            )
            return "account_mismatch"
        return None

    def _settle(self, event: Event, action: Settle) -> Outcome:
        payment = self._call(_payment_by("stripe_checkout_session_id", action.session_id))
        refused = self._owned(event, payment)
        if refused is not None:
            return self._finish(event, refused)
        assert payment is not None
        if action.currency is not None and action.currency != (payment.currency or "").lower():
            log.error(
                "stripe event %s pays in %s, not %s", event.id, action.currency, payment.currency
            )
            return self._finish(event, "payment_mismatch")
        params = {
            "p_event_id": event.id,
            "p_checkout_session_id": action.session_id,
            "p_payment_intent_id": action.payment_intent,
            "p_amount_cents": action.amount_cents,
        }
        try:
            self._call(_payment("settle_stripe_checkout", params))
        except PaymentMismatch:
            log.error("stripe event %s pays another amount than the checkout asked", event.id)
            return self._finish(event, "payment_mismatch")
        except PaymentNotPending:
            return self._finish(event, "ignored")  # failed before: never moved backwards
        return self._finish(event, "settled")

    def _fail(self, event: Event, action: Fail) -> Outcome:
        payment = self._call(_payment_by("stripe_checkout_session_id", action.session_id))
        refused = self._owned(event, payment)
        if refused is not None:
            return self._finish(event, refused)
        params = {"p_event_id": event.id, "p_checkout_session_id": action.session_id}
        try:
            after = self._call(_payment("fail_stripe_checkout", params))
        except NotFound:
            return self._finish(event, "unmatched")
        return "failed" if after.status == "failed" else "ignored"

    def _refund(self, event: Event, action: Refund) -> Outcome:
        payment = self._call(_payment_by("stripe_payment_intent_id", action.payment_intent))
        refused = self._owned(event, payment)
        if refused is not None:
            return self._finish(event, refused)
        params = {
            "p_event_id": event.id,
            "p_payment_intent_id": action.payment_intent,
            "p_amount_refunded": action.amount_refunded,
        }
        after = self._call(_payment("refund_stripe_payment", params))
        return "refunded" if after.refunded_cents > 0 else "ignored"

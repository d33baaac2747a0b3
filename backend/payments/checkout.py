"""Checkout: a Stripe Checkout Session for what a client owes, and its pending payment.

The order of the steps is the safety argument:

1. the charges are read as the coach (row level security: another coach's
   client or charge is simply not there), and the read counts against the
   coach's `payment` rate limit;
2. when exactly these charges already wait in an open checkout, that one is
   returned: a retried request opens no second session;
3. the session is created with an idempotency key (the caller's
   `Idempotency-Key`, else one derived from the coach, client and charges),
   and the pending payment's id is derived from the same key, so a retry
   after a crash finds the same session and the same payment;
4. `create_stripe_checkout_payment` records the pending payment (the
   database computes the amount again and locks the charges); when that
   fails, the session just created is expired, so nobody can pay a session
   the database does not know.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backend.config import Settings
from backend.errors import (
    BackendError,
    ChargeNotPayable,
    Duplicate,
    PaymentMismatch,
    Unauthenticated,
)
from backend.gateway.base import Filter, Order, Rpc, Select, Session, eq
from backend.models import Checkout, CheckoutCreate, Coach, Lesson, LessonParticipant, Payment
from backend.payments.stripe_api import CheckoutSession, StripeCheckouts
from backend.services.base import Limiter, Operation, SyncService, parse_row, parse_rows

log = logging.getLogger("backend.payments")

# uuid5 namespace of checkout payment ids (derived from the coach and the idempotency key).
PAYMENT_ID_NAMESPACE = uuid.UUID("6f1c1d52-6a57-4f0e-9a55-2f6b0f4c8e21")
MAX_CHARGES = 100  # Stripe takes at most 100 line items per Checkout Session


@dataclass(frozen=True)
class Charge:
    """One charge as the checkout shows it: the participant and its lesson."""

    participant: LessonParticipant
    lesson: Lesson


# --- the decision: pure functions ---------------------------------------------------------


def is_payable(lesson: Lesson, now: datetime) -> bool:
    """domain.md's "billable": completed or no-show, or scheduled and already over."""
    if lesson.status in ("completed", "no_show"):
        return True
    return lesson.status == "scheduled" and lesson.end_time <= now


def derived_idempotency_key(coach_id: str, client_id: uuid.UUID, charges: Iterable[Charge]) -> str:
    """The same coach, client and charges, unchanged, give the same key.

    A charge's `updated_at` is part of it: a checkout that failed or expired
    touched its charges, so the next checkout for them is a new one.
    """
    versions = sorted(f"{c.participant.id}@{c.participant.updated_at}" for c in charges)
    digest = hashlib.sha256(f"{coach_id}|{client_id}|{','.join(versions)}".encode()).hexdigest()
    return f"checkout-{digest[:40]}"


def checkout_payment_id(coach_id: str, idempotency_key: str) -> uuid.UUID:
    return uuid.uuid5(PAYMENT_ID_NAMESPACE, f"{coach_id}|{idempotency_key}")


def stripe_idempotency_key(coach_id: str, idempotency_key: str) -> str:
    """Scoped to the coach: two coaches sending the same header never share a session."""
    return f"checkout:{coach_id}:{idempotency_key}"


def line_name(lesson: Lesson, timezone: str) -> str:
    from zoneinfo import ZoneInfo

    local = lesson.start_time.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d} {lesson.title or 'Lesson'}"[:250]


def session_params(
    coach: Coach,
    client_id: uuid.UUID,
    charges: Sequence[Charge],
    payment_id: uuid.UUID,
    settings: Settings,
) -> dict[str, Any]:
    """What Stripe is asked for: one line per charge, in the coach's currency."""
    metadata = {
        "payment_id": str(payment_id),
        "coach_id": str(coach.id),
        "client_id": str(client_id),
    }
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": coach.currency,
                    "unit_amount": charge.participant.price_cents,
                    "product_data": {"name": line_name(charge.lesson, coach.timezone)},
                },
            }
            for charge in charges
        ],
        "client_reference_id": str(payment_id),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": settings.stripe_success_url,
        "cancel_url": settings.stripe_cancel_url,
    }


def _in_time_order(charge: Charge) -> tuple[datetime, str]:
    return charge.lesson.start_time, str(charge.participant.id)


def choose_charges(
    candidates: Sequence[Charge], requested: Sequence[uuid.UUID] | None, now: datetime
) -> list[Charge]:
    """The named charges (every one must be there), else every payable one.

    By default the charges already waiting in a checkout are left out, unless
    all of them wait there: then that checkout is the one asked for again.
    """
    if requested is None:
        payable = [c for c in candidates if is_payable(c.lesson, now)]
        free = [c for c in payable if c.participant.payment_id is None]
        chosen = free or payable
        if not chosen:
            raise ChargeNotPayable(
                "the client owes nothing that can be paid now", key="nothing_to_pay"
            )
        return sorted(chosen, key=_in_time_order)
    by_id = {c.participant.id: c for c in candidates}
    missing = [i for i in requested if i not in by_id]
    if missing:
        raise ChargeNotPayable(
            f"{len(missing)} of the charges are not this client's unpaid charges"
        )
    return sorted((by_id[i] for i in requested), key=_in_time_order)


def waiting_payment(chosen: Sequence[Charge]) -> uuid.UUID | None:
    """The pending checkout all of these charges already wait in, if they share one."""
    payment_ids = {c.participant.payment_id for c in chosen}
    if len(payment_ids) == 1:
        return next(iter(payment_ids))
    return None


# --- the I/O ------------------------------------------------------------------------------


def _unpaid_charges(
    client_id: uuid.UUID, named: Sequence[uuid.UUID] | None
) -> Operation[list[LessonParticipant]]:
    filters: tuple[Filter, ...] = (eq("client_id", client_id), eq("payment_status", "unpaid"))
    if named is not None:
        filters += (Filter("id", "in", [str(i) for i in named]),)
    request = Select(
        "lesson_participants", filters, order=(Order("created_at"), Order("id")), limit=MAX_CHARGES
    )
    return Operation(request, lambda rows: parse_rows(LessonParticipant, rows))


def _lessons(ids: Sequence[uuid.UUID]) -> Operation[list[Lesson]]:
    request = Select("lessons", (Filter("id", "in", [str(i) for i in ids]),))
    return Operation(request, lambda rows: parse_rows(Lesson, rows))


def _payment_by(column: str, value: Any) -> Operation[list[Payment]]:
    request = Select("payments", (eq(column, value),), limit=1)
    return Operation(request, lambda rows: parse_rows(Payment, rows))


def _record(
    coach_id: str,
    client_id: uuid.UUID,
    charges: Sequence[Charge],
    session_id: str,
    payment_id: uuid.UUID,
) -> Operation[Payment]:
    params = {
        "p_coach_id": coach_id,
        "p_client_id": str(client_id),
        "p_participant_ids": [str(c.participant.id) for c in charges],
        "p_checkout_session_id": session_id,
        "p_payment_id": str(payment_id),
    }
    return Operation(
        Rpc("create_stripe_checkout_payment", params), lambda raw: parse_row(Payment, raw)
    )


def _client(client_id: uuid.UUID) -> Operation[Any]:
    # The first read of a checkout: it counts against the coach's payment limit.
    request = Select("clients", (eq("id", client_id),), single=True)
    return Operation(request, lambda row: row, limit="payment")


def _profile() -> Operation[Coach]:
    return Operation(Select("coaches", (), limit=1, single=True), lambda r: parse_row(Coach, r))


class CheckoutOpener(SyncService):
    """Opens checkouts as one coach (its session and rate limit), recording them as server code."""

    def __init__(
        self,
        session: Session,
        admin: Session,
        stripe: StripeCheckouts,
        settings: Settings,
        limiter: Limiter | None = None,
    ) -> None:
        super().__init__(session, limiter)
        self._admin = SyncService(admin)
        self._stripe = stripe
        self._settings = settings

    def open(self, data: CheckoutCreate, *, idempotency_key: str | None, now: datetime) -> Checkout:
        coach_id = self._session.caller.user_id
        if coach_id is None:
            raise Unauthenticated("only a signed-in coach can open a checkout")
        self._call(_client(data.client_id))  # NotFound for another coach's client
        candidates = self._charges(data.client_id, data.participant_ids)
        chosen = choose_charges(candidates, data.participant_ids, now)
        profile = self._call(_profile())

        waiting = waiting_payment(chosen)
        if waiting is not None:
            return self._resume(waiting, profile)
        if any(c.participant.payment_id is not None for c in chosen):
            raise ChargeNotPayable("a charge is already in another pending checkout")

        key = idempotency_key or derived_idempotency_key(coach_id, data.client_id, chosen)
        payment_id = checkout_payment_id(coach_id, key)
        params = session_params(profile, data.client_id, chosen, payment_id, self._settings)
        session = self._stripe.create(
            params,
            idempotency_key=stripe_idempotency_key(coach_id, key),
            account=profile.stripe_account_id,
        )
        payment = self._record(coach_id, data.client_id, chosen, session, payment_id, profile)
        return self._checkout(payment.id, session)

    def _charges(self, client_id: uuid.UUID, named: Sequence[uuid.UUID] | None) -> list[Charge]:
        participants = self._call(_unpaid_charges(client_id, named))
        if not participants:
            return []
        lessons = {
            lesson.id: lesson
            for lesson in self._call(_lessons([p.lesson_id for p in participants]))
        }
        return [Charge(p, lessons[p.lesson_id]) for p in participants if p.lesson_id in lessons]

    def _record(
        self,
        coach_id: str,
        client_id: uuid.UUID,
        chosen: Sequence[Charge],
        session: CheckoutSession,
        payment_id: uuid.UUID,
        profile: Coach,
    ) -> Payment:
        try:
            payment = self._admin._call(
                _record(coach_id, client_id, chosen, session.id, payment_id)
            )
        except Duplicate:
            # A retry of a request that was recorded already: the same session and payment.
            existing = self._admin._call(_payment_by("id", payment_id))
            if existing and existing[0].stripe_checkout_session_id == session.id:
                return existing[0]
            self._abandon(session, profile)
            raise
        except BackendError:
            self._abandon(session, profile)
            raise
        if session.amount_total is not None and session.amount_total != payment.amount_cents:
            raise PaymentMismatch(
                f"Stripe's session totals {session.amount_total} cents, the charges "
                f"{payment.amount_cents}; the payment will fail when the session expires"
            )
        return payment

    def _abandon(self, session: CheckoutSession, profile: Coach) -> None:
        log.warning("expiring checkout session %s: its payment was not recorded", session.id)
        self._stripe.expire(session.id, account=profile.stripe_account_id)

    def _resume(self, payment_id: uuid.UUID, profile: Coach) -> Checkout:
        found = self._call(_payment_by("id", payment_id))
        if not found or found[0].status != "pending" or not found[0].stripe_checkout_session_id:
            raise ChargeNotPayable("these charges are in a checkout that is settling")
        session = self._stripe.retrieve(
            found[0].stripe_checkout_session_id, account=profile.stripe_account_id
        )
        if session.status != "open":
            raise ChargeNotPayable(f"these charges are in a checkout that is {session.status}")
        return self._checkout(payment_id, session)

    @staticmethod
    def _checkout(payment_id: uuid.UUID, session: CheckoutSession) -> Checkout:
        if not session.url or session.expires_at is None:
            raise ChargeNotPayable("Stripe returned a checkout session without a page to pay on")
        return Checkout(
            payment_id=payment_id, checkout_url=session.url, expires_at=session.expires_at
        )

"""Money through Stripe: checkout as the coach, and Stripe's signed webhooks."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Header, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from backend.api.deps import Caller, IdempotencyKey, State, write
from backend.api.problems import PROBLEM_RESPONSES
from backend.models import Checkout, CheckoutCreate
from backend.payments.checkout import CheckoutOpener
from backend.payments.stripe_api import StripeNotConfigured
from backend.payments.webhooks import Outcome, WebhookProcessor, verify

router = APIRouter(responses=PROBLEM_RESPONSES)


class WebhookReceived(BaseModel):
    received: bool = True
    outcome: Outcome


@router.post("/payments/checkout", tags=["payments"], status_code=status.HTTP_201_CREATED)
def open_checkout(body: CheckoutCreate, svc: Caller, state: State, key: IdempotencyKey) -> Checkout:
    """A Stripe Checkout page for the client's charges (default: every payable unpaid one)."""
    backend = state.backend
    opener = CheckoutOpener(
        svc.session,
        backend.gateway.administrative_session(),
        state.require_stripe(),
        backend.settings,
        backend.limiter,
    )
    return write(lambda k: opener.open(body, idempotency_key=k, now=datetime.now(UTC)), key)


@router.post("/webhooks/stripe", tags=["webhooks"])
async def stripe_webhook(
    request: Request,
    state: State,
    stripe_signature: str | None = Header(default=None, alias="Stripe-Signature"),
) -> WebhookReceived:
    """Stripe's events, verified on the raw body; each settles exactly once."""
    secret = state.backend.settings.stripe_webhook_secret
    if secret is None:
        raise StripeNotConfigured("STRIPE_WEBHOOK_SECRET is not set")
    event = verify(await request.body(), stripe_signature, secret.get_secret_value())
    processor = WebhookProcessor(state.backend.gateway.administrative_session())
    outcome = await run_in_threadpool(processor.receive, event)
    return WebhookReceived(outcome=outcome)

"""The three Stripe calls the payment path makes: create, retrieve and expire a Checkout Session.

Everything else about Stripe (what to ask for, what an event means) is plain
data in `backend.payments.checkout` and `backend.payments.webhooks`; this module
only talks. `STRIPE_API_BASE` points the client elsewhere (a local fake in tests,
a proxy in some deployments).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import stripe

from backend.config import Settings
from backend.errors import BackendError, StripeNotConfigured, StripeRefused, Unavailable

__all__ = ["CheckoutSession", "StripeCheckouts", "StripeNotConfigured", "StripeRefused"]

log = logging.getLogger("backend.payments")


@dataclass(frozen=True)
class CheckoutSession:
    """What this code reads of a Checkout Session."""

    id: str
    url: str | None
    status: str | None  # open, complete, expired
    payment_status: str | None  # paid, unpaid, no_payment_required
    amount_total: int | None
    currency: str | None
    payment_intent: str | None
    expires_at: datetime | None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> CheckoutSession:
        intent = obj.get("payment_intent")
        if isinstance(intent, Mapping):  # expanded
            intent = intent.get("id")
        expires = obj.get("expires_at")
        return cls(
            id=str(obj["id"]),
            url=obj.get("url"),
            status=obj.get("status"),
            payment_status=obj.get("payment_status"),
            amount_total=obj.get("amount_total"),
            currency=obj.get("currency"),
            payment_intent=str(intent) if intent else None,
            expires_at=datetime.fromtimestamp(int(expires), UTC) if expires else None,
            metadata=dict(obj.get("metadata") or {}),
        )

    def as_object(self) -> dict[str, Any]:
        """The session as an event's `data.object` (what reconciliation replays)."""
        return {
            "object": "checkout.session",
            "id": self.id,
            "status": self.status,
            "payment_status": self.payment_status,
            "amount_total": self.amount_total,
            "currency": self.currency,
            "payment_intent": self.payment_intent,
            "metadata": dict(self.metadata),
        }


def _failed(action: str, exc: stripe.StripeError) -> BackendError:
    retryable = (
        stripe.APIConnectionError,
        stripe.RateLimitError,
        stripe.APIError,
    )
    if isinstance(exc, retryable) or (exc.http_status or 0) >= 500:
        return Unavailable(f"Stripe could not {action} now", key="stripe_unavailable")
    log.error("Stripe refused to %s: %s", action, exc.user_message or type(exc).__name__)
    return StripeRefused(f"Stripe refused to {action}")


class StripeCheckouts:
    """Checkout Sessions through the official client, with no retries of its own."""

    def __init__(self, secret_key: str, *, api_base: str | None = None) -> None:
        addresses: dict[str, str | None] = {"api": api_base} if api_base else {}
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses=cast(Any, addresses),
            max_network_retries=0,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeCheckouts | None:
        if settings.stripe_secret_key is None:
            return None
        return cls(settings.stripe_secret_key.get_secret_value(), api_base=settings.stripe_api_base)

    def create(
        self, params: Mapping[str, Any], *, idempotency_key: str, account: str | None
    ) -> CheckoutSession:
        options: dict[str, Any] = {"idempotency_key": idempotency_key}
        if account:
            options["stripe_account"] = account
        try:
            session = self._client.v1.checkout.sessions.create(
                cast(Any, dict(params)), cast(Any, options)
            )
        except stripe.StripeError as exc:
            raise _failed("create a checkout session", exc) from exc
        return CheckoutSession.from_object(session.to_dict())

    def retrieve(self, session_id: str, *, account: str | None) -> CheckoutSession:
        options: dict[str, Any] = {"stripe_account": account} if account else {}
        try:
            session = self._client.v1.checkout.sessions.retrieve(
                session_id, options=cast(Any, options)
            )
        except stripe.StripeError as exc:
            raise _failed("read a checkout session", exc) from exc
        return CheckoutSession.from_object(session.to_dict())

    def expire(self, session_id: str, *, account: str | None) -> None:
        options: dict[str, Any] = {"stripe_account": account} if account else {}
        try:
            self._client.v1.checkout.sessions.expire(session_id, options=cast(Any, options))
        except stripe.InvalidRequestError:
            pass  # already expired or completed: nobody can pay it as an open session any more
        except stripe.StripeError as exc:
            raise _failed("expire a checkout session", exc) from exc

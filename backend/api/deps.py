"""What every route depends on: the wiring, the caller's services, the idempotency key.

- `ApiState` is built once per process (in the app's lifespan, or handed in by
  tests): the `Backend`, and Stripe when it is configured.
- `services` verifies the caller's Supabase access token locally, as
  `Backend.services_for_token` does: a missing or malformed `Authorization`
  header is a 401 problem.
- `idempotency_key` reads `Idempotency-Key` on every write: 1 to 255 visible
  ASCII characters, else a 422 problem.
- `write` is the one path every write takes, so that the key reaches each
  service method the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.app import Backend
from backend.errors import Unauthenticated, ValidationError
from backend.payments.stripe_api import StripeCheckouts, StripeNotConfigured
from backend.ratelimit import client_ip
from backend.services import Services

T = TypeVar("T")

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

bearer = HTTPBearer(
    auto_error=False,
    description="The Supabase access token of the signed-in coach",
)


@dataclass
class ApiState:
    backend: Backend
    stripe: StripeCheckouts | None = None

    def require_stripe(self) -> StripeCheckouts:
        if self.stripe is None:
            raise StripeNotConfigured("Stripe is not configured (STRIPE_SECRET_KEY)")
        return self.stripe


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(api_state)]


def caller_ip(request: Request, state: State) -> str:
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_ip(peer, forwarded, state.backend.settings.trusted_proxy_hops)


def services(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Services:
    """The services of the coach whose access token this is."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send the Supabase access token as Authorization: Bearer <token>")
    return state.backend.services_for_token(
        f"Bearer {credentials.credentials}",
        ip=caller_ip(request, state),
        user_agent=request.headers.get("user-agent", ""),
    )


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Makes a retried write safe: 1-255 visible ASCII characters",
        ),
    ] = None,
) -> str | None:
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise ValidationError(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            key="invalid_idempotency_key",
            fields={"Idempotency-Key": "must be 1 to 255 visible ASCII characters"},
        )
    return key


Caller = Annotated[Services, Depends(services)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


def write(action: Callable[[str | None], T], idempotency_key: str | None) -> T:
    """Run one write with the request's `Idempotency-Key` (None without one): a retry with
    the same key is done once, and answers what the first one did (docs/idempotency.md)."""
    return action(idempotency_key)

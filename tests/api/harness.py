"""The HTTP app over the real database, driven through httpx's ASGI transport.

Shared by the API and payment tests: a `Backend` on the test's fresh database
(direct gateway, in-process rate limits), the fake Stripe API on loopback,
access tokens signed with the test secret, and Stripe-signed webhook bodies
made with Stripe's own signing scheme.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import httpx
import jwt
import pytest
import stripe

from backend.api.app import create_app
from backend.app import Backend
from backend.config import load_settings
from backend.gateway.base import Caller
from backend.observability import reset_logging
from backend.payments.stripe_api import StripeCheckouts
from backend.services import Services
from tests.payments.fake_stripe import FakeStripe, start_fake_stripe
from tests.services.support import hours_from_now

JWT_SECRET = "api-test-secret-that-is-at-least-32-characters"
WEBHOOK_SECRET = "whsec_api_test_secret"
STRIPE_KEY = "sk_test_api"


def token_for(user_id: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "aud": "authenticated",
        "role": "authenticated",
        "exp": now + 600,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def signed(event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, at: int | None = None):
    """The body and Stripe-Signature header Stripe would send for this event."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=at)
    return body.encode(), {"Stripe-Signature": header}


def event_for(
    event_type: str, obj: dict[str, Any], *, account: str | None = None
) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "account": account,
        "data": {"object": obj},
    }


class Api:
    """Requests to the app in process (httpx.AsyncClient over ASGITransport), from sync tests."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def _client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://api.test")

    def request(
        self, method: str, path: str, *, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"

        async def go() -> httpx.Response:
            async with self._client() as client:
                return await client.request(method, path, headers=headers, **kw)

        return anyio.run(go)

    def concurrently(
        self, calls: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> list[httpx.Response]:
        results: list[httpx.Response | None] = [None] * len(calls)

        async def go() -> None:
            async with self._client() as client:

                async def one(i: int, method: str, path: str, kw: dict[str, Any]) -> None:
                    results[i] = await client.request(method, path, **kw)

                async with anyio.create_task_group() as group:
                    for i, (method, path, kw) in enumerate(calls):
                        group.start_soon(one, i, method, path, kw)

        anyio.run(go)
        return [r for r in results if r is not None]


@pytest.fixture(autouse=True)
def _no_global_logging() -> Iterator[None]:
    yield
    reset_logging()


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = start_fake_stripe()
    yield fake
    fake.close()


@pytest.fixture
def backend(pg: Any, fake_stripe: FakeStripe) -> Iterator[Backend]:
    settings = load_settings(
        database_url=pg.url,
        supabase_url=None,
        supabase_jwt_secret=JWT_SECRET,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=fake_stripe.url,
        upstash_redis_rest_url=None,
    )
    built = Backend.from_settings(settings, max_size=12)
    yield built
    built.close()


@pytest.fixture
def api(backend: Backend, fake_stripe: FakeStripe) -> Api:
    stripe_api = StripeCheckouts(STRIPE_KEY, api_base=fake_stripe.url)
    return Api(create_app(backend, stripe=stripe_api))


@pytest.fixture
def coach(pg: Any) -> Any:
    return pg.sign_up()


@pytest.fixture
def token(coach: Any) -> str:
    return token_for(coach.id)


@pytest.fixture
def svc(backend: Backend, coach: Any) -> Services:
    """The coach's services without a rate limiter: set-up does not use the coach's budget."""
    return Services(backend.gateway.session(Caller.user(coach.id, email=coach.email)))


def owing_client(
    svc: Services, *, lessons: int = 2, price_cents: int = 5000
) -> tuple[Any, list[Any]]:
    """A client with `lessons` past, completed, unpaid charges."""
    client = svc.clients.create(first_name="Ann", email=f"ann-{uuid.uuid4().hex[:6]}@example.test")
    kind = svc.lesson_types.create(
        name=f"Single {uuid.uuid4().hex[:6]}", duration_minutes=60, price_cents=price_cents
    )
    charges = []
    for i in range(lessons):
        lesson = svc.lessons.create(
            client_ids=[client.id],
            start_time=hours_from_now(-3 - 2 * i),
            lesson_type_id=kind.id,
            title=f"Forehand {i + 1}",
        )
        svc.lessons.complete(lesson.id)
        charges.extend(svc.lessons.participants(lesson.id))
    return client, charges

"""The wiring: settings in, a verified user's services out; sign-in under the auth rate limit.

Supabase Auth (a hosted service) is replaced by an httpx transport in the
sign-in tests; the database is the real one.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import jwt
import pytest

from backend.app import Backend
from backend.config import load_settings
from backend.errors import Forbidden, RateLimited, Unauthenticated
from backend.gateway.direct import DirectGateway
from backend.gateway.supabase import SupabaseGateway
from backend.observability import reset_logging

pytestmark = pytest.mark.direct_only  # reads or configures the local database

SECRET = "app-test-secret-that-is-at-least-32-characters"


def token_for(user_id, **extra) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "aud": "authenticated",
        "role": "authenticated",
        "exp": now + 600,
    }
    return jwt.encode({**claims, **extra}, SECRET, algorithm="HS256")


@pytest.fixture(autouse=True)
def _no_global_logging():
    yield
    reset_logging()


@pytest.fixture
def backend(pg):
    settings = load_settings(database_url=pg.url, supabase_url=None, supabase_jwt_secret=SECRET)
    built = Backend.from_settings(settings, max_size=2)
    yield built
    built.close()


def test_without_supabase_the_direct_gateway_is_used(backend):
    assert isinstance(backend.gateway, DirectGateway)


def test_a_bearer_token_becomes_the_user_the_services_run_as(backend, pg):
    coach = pg.sign_up()

    services = backend.services_for_token(f"Bearer {token_for(coach.id)}")

    assert services.clients.create(first_name="Ann").coach_id == coach.id


def test_a_bad_token_never_reaches_the_database(backend):
    with pytest.raises(Unauthenticated):
        backend.services_for_token("Bearer nonsense")


def test_session_binding_is_applied_when_enabled(pg):
    settings = load_settings(
        database_url=pg.url,
        supabase_url=None,
        upstash_redis_rest_url=None,
        supabase_jwt_secret=SECRET,
        session_binding=True,
    )
    backend = Backend.from_settings(settings, max_size=1)
    coach = pg.sign_up()
    header = f"Bearer {token_for(coach.id, session_id='s-1')}"
    try:
        backend.services_for_token(header, ip="198.51.100.1", user_agent="app")

        with pytest.raises(Unauthenticated):
            backend.services_for_token(header, ip="203.0.113.1", user_agent="app")
    finally:
        backend.close()


def test_sign_in_needs_supabase(backend):
    with pytest.raises(Forbidden):
        backend.accounts()


def session_body(user_id: str) -> dict:
    return {
        "access_token": "access",
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": int(time.time()) + 3600,
        "refresh_token": "refresh",
        "user": {
            "id": user_id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": "coach@example.test",
            "app_metadata": {},
            "user_metadata": {},
            "created_at": "2026-01-01T00:00:00Z",
        },
    }


def test_the_sixth_sign_in_from_one_ip_and_email_is_rate_limited_before_supabase():
    user_id = str(uuid.uuid4())
    calls: list[httpx.Request] = []

    def gotrue(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=session_body(user_id))

    http = httpx.Client(transport=httpx.MockTransport(gotrue))
    settings = load_settings(supabase_url="https://proj.supabase.co", supabase_anon_key="anon")
    backend = Backend.from_settings(settings, http_client=http)
    assert isinstance(backend.gateway, SupabaseGateway)
    accounts = backend.accounts()

    for _ in range(5):
        signed = accounts.sign_in("coach@example.test", "pw", ip="198.51.100.4")
    with pytest.raises(RateLimited):
        accounts.sign_in("Coach@Example.test", "pw", ip="198.51.100.4")

    assert str(signed.user_id) == user_id and len(calls) == 5
    assert calls[0].url.path == "/auth/v1/token" and calls[0].url.params["grant_type"] == "password"
    accounts.sign_in(
        "coach@example.test", "pw", ip="198.51.100.5"
    )  # another address: its own bucket


def test_wrong_credentials_are_unauthenticated():
    def gotrue(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "code": 400,
                "error_code": "invalid_credentials",
                "msg": "Invalid login credentials",
            },
        )

    http = httpx.Client(transport=httpx.MockTransport(gotrue))
    settings = load_settings(supabase_url="https://proj.supabase.co", supabase_anon_key="anon")
    accounts = Backend.from_settings(settings, http_client=http).accounts()

    with pytest.raises(Unauthenticated) as caught:
        accounts.sign_in("coach@example.test", "wrong", ip="198.51.100.9")

    assert caught.value.key == "invalid_credentials"


def test_async_sign_in_counts_against_the_same_auth_limit():
    import asyncio

    from backend.app import AsyncBackend

    user_id = str(uuid.uuid4())
    calls: list[httpx.Request] = []

    def gotrue(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=session_body(user_id))

    async def main():
        http = httpx.AsyncClient(transport=httpx.MockTransport(gotrue))
        settings = load_settings(supabase_url="https://proj.supabase.co", supabase_anon_key="anon")
        accounts = AsyncBackend.from_settings(settings, http_client=http).accounts()
        try:
            for _ in range(5):
                await accounts.sign_in("coach@example.test", "pw", ip="198.51.100.6")
            await accounts.sign_in("coach@example.test", "pw", ip="198.51.100.6")
        finally:
            await http.aclose()

    with pytest.raises(RateLimited):
        asyncio.run(main())

    assert len(calls) == 5


def test_sign_up_and_password_reset_go_to_supabase_auth_under_the_auth_limit():
    user_id = str(uuid.uuid4())
    calls: list[httpx.Request] = []

    def gotrue(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path.endswith("/signup"):
            return httpx.Response(200, json=session_body(user_id))
        return httpx.Response(200, json={})

    http = httpx.Client(transport=httpx.MockTransport(gotrue))
    settings = load_settings(supabase_url="https://proj.supabase.co", supabase_anon_key="anon")
    accounts = Backend.from_settings(settings, http_client=http).accounts()

    created = accounts.sign_up("new@example.test", "pw-123456", ip="198.51.100.8", full_name="Nia")
    for _ in range(4):
        accounts.request_password_reset("new@example.test", ip="198.51.100.8")
    with pytest.raises(RateLimited):
        accounts.request_password_reset("new@example.test", ip="198.51.100.8")

    assert str(created) == user_id
    assert [c.url.path for c in calls] == ["/auth/v1/signup"] + ["/auth/v1/recover"] * 4
    assert json.loads(calls[0].content)["data"] == {"full_name": "Nia"}

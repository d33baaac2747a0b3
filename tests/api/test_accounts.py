"""Sign-in through the HTTP service: Supabase Auth behind it, the auth limit in front.

Supabase Auth is a hosted service that can not run here: an httpx transport
answers for it, as in tests/services/test_app.py.
"""

from __future__ import annotations

import time
import uuid

import httpx

from backend.api.app import create_app
from backend.app import Backend
from backend.config import load_settings
from tests.api.harness import JWT_SECRET, Api, token_for


def session_body(user_id: str) -> dict:
    """What Supabase Auth answers to a password sign-in."""
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


def test_the_sixth_sign_in_from_one_address_is_429_before_supabase_is_asked():
    user_id = str(uuid.uuid4())
    calls: list[httpx.Request] = []

    def gotrue(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=session_body(user_id))

    settings = load_settings(supabase_url="https://proj.supabase.co", supabase_anon_key="anon")
    backend = Backend.from_settings(
        settings, http_client=httpx.Client(transport=httpx.MockTransport(gotrue))
    )
    api = Api(create_app(backend))
    credentials = {"email": "coach@example.test", "password": "pw"}

    answers = [api.request("POST", "/auth/sign-in", json=credentials) for _ in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[0].json()["user_id"] == user_id
    assert answers[5].headers["ratelimit-policy"] == '"auth";q=5;w=900'
    assert len(calls) == 5


def test_sign_out_ends_the_session_of_a_verified_token():
    calls: list[httpx.Request] = []

    def gotrue(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(204)

    settings = load_settings(
        supabase_url="https://proj.supabase.co",
        supabase_anon_key="anon",
        supabase_jwt_secret=JWT_SECRET,
    )
    http = httpx.Client(transport=httpx.MockTransport(gotrue))
    api = Api(create_app(Backend.from_settings(settings, http_client=http)))
    token = token_for(uuid.uuid4())

    refused = api.request("POST", "/auth/sign-out", token="not-a-token")
    signed_out = api.request("POST", "/auth/sign-out", token=token)

    assert (refused.status_code, signed_out.status_code) == (401, 204)
    assert [c.url.path for c in calls] == ["/auth/v1/logout"]
    assert calls[0].headers["authorization"] == f"Bearer {token}"


def _sign_ins_with_spoofed_forwarded_for(trusted_proxy_hops: int) -> list[int]:
    def gotrue(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=session_body(str(uuid.uuid4())))

    settings = load_settings(
        supabase_url="https://proj.supabase.co",
        supabase_anon_key="anon",
        trusted_proxy_hops=trusted_proxy_hops,
    )
    backend = Backend.from_settings(
        settings, http_client=httpx.Client(transport=httpx.MockTransport(gotrue))
    )
    api = Api(create_app(backend))
    credentials = {"email": "coach@example.test", "password": "pw"}
    # Each attempt claims another address; the proxy (when trusted) appends the real one.
    forwarded = [
        f"198.51.100.{i}" + (", 203.0.113.9" if trusted_proxy_hops else "") for i in range(6)
    ]
    return [
        api.request(
            "POST", "/auth/sign-in", json=credentials, headers={"X-Forwarded-For": value}
        ).status_code
        for value in forwarded
    ]


def test_a_spoofed_forwarded_for_does_not_dodge_the_auth_limit_without_a_trusted_proxy():
    assert _sign_ins_with_spoofed_forwarded_for(0) == [200] * 5 + [429]


def test_a_spoofed_forwarded_for_does_not_dodge_the_auth_limit_behind_a_trusted_proxy():
    assert _sign_ins_with_spoofed_forwarded_for(1) == [200] * 5 + [429]

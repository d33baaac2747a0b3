"""Supabase access tokens are verified locally: signature, expiry, audience and role."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from backend.auth import TokenVerifier
from backend.errors import Unauthenticated, Unavailable
from backend.gateway.base import Caller
from backend.gateway.direct import DirectGateway
from backend.services import Services
from tests.auth.tokens import JWKS_URL, SECRET, claims, es256, hs256, rs256


def test_a_valid_hs256_token_gives_the_user_and_its_claims(verifier):
    user = str(uuid.uuid4())

    verified = verifier.verify(hs256(sub=user, session_id="s-9"))

    assert (str(verified.user_id), verified.email, verified.session_id) == (
        user,
        "coach@example.test",
        "s-9",
    )


@pytest.mark.parametrize("sign", [es256, rs256], ids=["ES256", "RS256"])
def test_asymmetric_tokens_are_verified_with_the_projects_jwks(verifier, sign):
    user = str(uuid.uuid4())

    assert str(verifier.verify(sign(sub=user)).user_id) == user


def test_the_jwks_is_fetched_once_and_cached(verifier, jwks_server):
    for _ in range(3):
        verifier.verify(es256())

    assert jwks_server.fetches == 1


def test_an_unknown_key_id_refetches_then_refuses(verifier, jwks_server):
    verifier.verify(es256())

    with pytest.raises(Unauthenticated, match="not in the project's JWKS"):
        verifier.verify(es256(kid="rotated-away"))

    assert jwks_server.fetches == 2


def test_an_expired_token_is_refused(verifier):
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(hs256(exp=int(time.time()) - 5))

    assert caught.value.key == "token_expired"


def test_a_token_for_another_audience_is_refused(verifier):
    with pytest.raises(Unauthenticated, match="audience"):
        verifier.verify(hs256(aud="some-other-app"))


@pytest.mark.parametrize("role", ["anon", "service_role", "supabase_admin"])
def test_a_token_whose_role_is_not_a_user_is_refused(verifier, role):
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(hs256(role=role))

    assert caught.value.key == "invalid_role"


def test_a_token_signed_with_another_secret_is_refused(verifier):
    forged = jwt.encode(claims(), "another-secret-that-is-long-enough-32+", algorithm="HS256")

    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_an_unsigned_token_is_refused(verifier):
    unsigned = jwt.encode(claims(), key=None, algorithm="none")

    with pytest.raises(Unauthenticated, match="not accepted"):
        verifier.verify(unsigned)


def test_a_token_without_expiry_is_refused(verifier):
    with pytest.raises(Unauthenticated):
        verifier.verify(jwt.encode(claims(exp=None), SECRET, algorithm="HS256"))


def test_a_subject_that_is_not_a_user_id_is_refused(verifier):
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(sub="admin"))


def test_garbage_is_refused_not_a_crash(verifier):
    with pytest.raises(Unauthenticated):
        verifier.verify("not.a.jwt")


def test_hs256_is_refused_when_only_a_jwks_is_configured(jwks_server):
    http = httpx.Client(transport=httpx.MockTransport(jwks_server.handler))
    only_jwks = TokenVerifier(jwks_url=JWKS_URL, http_client=http)

    with pytest.raises(Unauthenticated, match="HS256"):
        only_jwks.verify(hs256())


def test_an_unreachable_jwks_is_unavailable_not_unauthenticated():
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    verifier = TokenVerifier(
        jwks_url=JWKS_URL, http_client=httpx.Client(transport=httpx.MockTransport(down))
    )

    with pytest.raises(Unavailable):
        verifier.verify(es256())


def test_a_bearer_prefix_is_accepted(verifier):
    assert verifier.verify("Bearer " + hs256()).role == "authenticated"


def test_a_verified_token_is_the_user_a_service_call_runs_as(pg, verifier):
    coach = pg.sign_up()
    token = verifier.verify(hs256(sub=str(coach.id), email=coach.email))

    with DirectGateway(pg.url, max_size=1) as gateway:
        services = Services(gateway.session(Caller.from_token(token)))
        client = services.clients.create(first_name="Ann")

    assert client.coach_id == coach.id

"""Supabase access tokens are verified locally: signature, expiry, audience and role."""

from __future__ import annotations

import threading
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
from tests.auth.tokens import JWKS_URL, RSA_KEY, SECRET, claims, es256, hs256, jwks, rs256


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


# --- the header's algorithm must be the key's, claims must have the right types -----------


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda: jwt.encode(claims(), RSA_KEY, "RS256", headers={"kid": "ec-1"}),
            id="RS256-naming-the-EC-key",
        ),
        pytest.param(lambda: es256(kid="rsa-1"), id="ES256-naming-the-RSA-key"),
    ],
)
def test_a_token_whose_algorithm_is_not_its_keys_is_refused_not_a_crash(verifier, token):
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token())

    assert caught.value.key == "invalid_token"


@pytest.mark.parametrize(
    "overrides",
    [{"role": ["authenticated"]}, {"role": {"x": 1}}, {"sub": 12}, {"sub": ["a"]}],
    ids=["role-list", "role-object", "sub-number", "sub-list"],
)
def test_claims_of_the_wrong_type_are_refused_not_a_crash(verifier, overrides):
    with pytest.raises(Unauthenticated):
        verifier.verify(es256(**overrides))
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(**overrides))


# --- the JWKS: bounded refetches, no waiting on the network, last good keys kept ---------


class SwitchableJwks:
    def __init__(self) -> None:
        self.fetches = 0
        self.down = False
        self.hold: threading.Event | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.hold is not None:
            self.hold.wait(10)
        if self.down:
            return httpx.Response(503)
        return httpx.Response(200, json=jwks())


def _verifier(server: SwitchableJwks, **kwargs: float) -> TokenVerifier:
    http = httpx.Client(transport=httpx.MockTransport(server.handler))
    return TokenVerifier(jwks_url=JWKS_URL, http_client=http, **kwargs)


def test_unknown_key_ids_refetch_the_jwks_at_most_once_per_cooldown():
    server = SwitchableJwks()
    verifier = _verifier(server, jwks_refetch_cooldown_seconds=60)
    verifier.verify(es256())

    for i in range(50):
        with pytest.raises(Unauthenticated, match="not in the project's JWKS"):
            verifier.verify(es256(kid=f"junk-{i}"))

    assert server.fetches == 2  # the first read, then one refetch for the unknown kids
    verifier.verify(es256())  # the known key still works, without a fetch
    assert server.fetches == 2


def test_the_refetch_cooldown_is_configurable():
    server = SwitchableJwks()
    verifier = _verifier(server, jwks_refetch_cooldown_seconds=0)

    for i in range(3):
        with pytest.raises(Unauthenticated):
            verifier.verify(es256(kid=f"junk-{i}"))

    assert server.fetches == 3


def test_a_jwks_outage_after_the_cache_expires_keeps_serving_the_last_good_keys():
    server = SwitchableJwks()
    verifier = _verifier(server, jwks_ttl_seconds=0, jwks_refetch_cooldown_seconds=60)
    verifier.verify(es256())
    server.down = True

    for _ in range(5):
        assert verifier.verify(rs256()).role == "authenticated"

    assert server.fetches == 2  # one failed refresh, then the cooldown


def test_a_verification_with_a_cached_key_does_not_wait_for_a_refresh():
    server = SwitchableJwks()
    verifier = _verifier(server, jwks_refetch_cooldown_seconds=0)
    verifier.verify(es256())
    server.hold = threading.Event()
    refused: list[BaseException] = []

    def verify_unknown() -> None:
        try:
            verifier.verify(es256(kid="new"))
        except Unauthenticated as exc:
            refused.append(exc)

    slow = threading.Thread(target=verify_unknown)
    slow.start()
    try:
        deadline = time.monotonic() + 5
        while server.fetches < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.fetches == 2  # the refetch is in flight, held by the JWKS server

        began = time.monotonic()
        assert verifier.verify(es256()).role == "authenticated"
        assert time.monotonic() - began < 1
    finally:
        server.hold.set()
        slow.join(10)
    assert len(refused) == 1


def test_a_token_verified_moments_ago_is_not_verified_again(verifier, monkeypatch):
    token = hs256()
    first = verifier.verify(token)
    decoded: list[str] = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append("x") or real_decode(*a, **k))

    again = verifier.verify(f"Bearer {token}")
    other = verifier.verify(hs256())

    assert again is first and other.user_id != first.user_id
    assert decoded == ["x"]  # only the other token was decoded


def test_a_remembered_token_is_verified_again_once_past_its_expiry(verifier, monkeypatch):
    token = hs256(exp=int(time.time()) + 60)
    verifier.verify(token)
    decoded: list[str] = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append("x") or {})
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)

    with pytest.raises(Unauthenticated):  # the stand-in decode gives no claims
        verifier.verify(token)

    assert decoded == ["x"]


def test_a_remembered_token_is_verified_again_after_a_few_seconds(verifier, monkeypatch):
    token = hs256()
    first = verifier.verify(token)
    later = time.monotonic() + 11
    monkeypatch.setattr(time, "monotonic", lambda: later)

    assert verifier.verify(token) is not first

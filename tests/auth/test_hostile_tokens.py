"""Tokens an attacker sends: each is refused as `Unauthenticated`, never a crash or a 500."""

from __future__ import annotations

import pytest

from backend.auth import DEFAULT_MAX_TOKEN_BYTES, Authenticator
from backend.errors import Unauthenticated
from tests.auth.tokens import hs256


def test_a_validly_signed_oversized_token_is_refused_unread(verifier):
    token = hs256(user_metadata={"padding": "x" * 100_000})

    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)

    assert f"longer than {DEFAULT_MAX_TOKEN_BYTES} bytes" in caught.value.message


def test_a_token_of_normal_size_is_still_accepted(verifier):
    token = hs256(user_metadata={"padding": "x" * 2_000})

    assert verifier.verify(token).role == "authenticated"


@pytest.mark.parametrize(
    "claim",
    [
        {"email": "a\x00@example.test"},
        {"user_metadata": {"name": "\ud800"}},
        {"app_metadata": {"roles": ["ok", "bad\x00"]}},
        {"user_metadata": {"\x00key": "value"}},
    ],
    ids=["nul-in-email", "surrogate-nested", "nul-in-list", "nul-in-key"],
)
def test_a_signed_token_whose_claims_carry_a_nul_or_lone_surrogate_is_refused(verifier, claim):
    token = hs256(**claim)

    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)

    assert caught.value.key == "invalid_token"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer \ud800", "Bearer abc\ud800.def.ghi", "Bearer \x00", "Bearer é.é.é", "\ud800"],
    ids=["surrogate", "surrogate-inside", "nul", "non-ascii", "bare-surrogate"],
)
def test_an_authorization_header_no_jwt_could_be_is_refused_not_a_crash(verifier, authorization):
    with pytest.raises(Unauthenticated):
        Authenticator(verifier).authenticate(authorization)


@pytest.mark.parametrize("authorization", [123, b"Bearer x", ["Bearer x"]])
def test_an_authorization_that_is_not_a_string_is_refused(verifier, authorization):
    with pytest.raises(Unauthenticated):
        Authenticator(verifier).authenticate(authorization)


@pytest.mark.parametrize(
    "overrides",
    [{"role": "service_role"}, {"role": "postgres"}, {"role": "supabase_admin"}, {"aud": "x"}],
    ids=["service_role", "postgres", "supabase_admin", "audience"],
)
def test_a_role_escalating_token_is_refused(verifier, overrides):
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(**overrides))

"""Session binding: a token's session is bound to the first IP and user agent seen for it.

Upstash is a real Redis behind the Upstash REST protocol (the `upstash` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.auth import (
    Authenticator,
    InProcessBindingStore,
    SessionBinder,
    UpstashBindingStore,
    fingerprint,
)
from backend.config import load_settings
from backend.errors import Unauthenticated, Unavailable
from tests.auth.tokens import hs256

PHONE = {"ip": "198.51.100.7", "user_agent": "CoachApp/3.1 (iPhone)"}
LAPTOP = {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (X11; Linux)"}


@pytest.fixture(params=["in-process", "upstash"])
def binder(request) -> Iterator[SessionBinder]:
    if request.param == "in-process":
        yield SessionBinder(InProcessBindingStore())
        return
    upstash = request.getfixturevalue("upstash")
    store = UpstashBindingStore(upstash.url, upstash.token)
    yield SessionBinder(store, prefix=upstash.prefix)
    store.close()


def test_the_first_client_of_a_session_may_keep_using_it(binder, verifier):
    token = verifier.verify(hs256(session_id="session-1"))

    binder.check(token, **PHONE)
    binder.check(token, **PHONE)


def test_a_token_replayed_from_another_client_is_refused(binder, verifier):
    token = verifier.verify(hs256(session_id="session-2"))
    binder.check(token, **PHONE)

    with pytest.raises(Unauthenticated) as caught:
        binder.check(token, **LAPTOP)

    assert caught.value.key == "session_mismatch"


def test_the_same_ip_with_another_user_agent_is_refused(binder, verifier):
    token = verifier.verify(hs256(session_id="session-3"))
    binder.check(token, **PHONE)

    with pytest.raises(Unauthenticated):
        binder.check(token, ip=PHONE["ip"], user_agent="curl/8.0")


def test_sessions_are_bound_independently(binder, verifier):
    binder.check(verifier.verify(hs256(session_id="session-4")), **PHONE)

    binder.check(verifier.verify(hs256(session_id="session-5")), **LAPTOP)


def test_a_new_token_of_the_same_session_stays_bound(binder, verifier):
    binder.check(verifier.verify(hs256(session_id="session-6")), **PHONE)
    refreshed = verifier.verify(hs256(session_id="session-6"))

    with pytest.raises(Unauthenticated):
        binder.check(refreshed, **LAPTOP)


def test_redis_holds_a_fingerprint_not_the_ip_address(upstash, redis_url, verifier):
    from redis import Redis

    store = UpstashBindingStore(upstash.url, upstash.token)
    SessionBinder(store, prefix=upstash.prefix).check(
        verifier.verify(hs256(session_id="session-7")), **PHONE
    )
    store.close()

    with Redis.from_url(redis_url) as r:
        value = r.get(f"{upstash.prefix}session-7")
        ttl = r.ttl(f"{upstash.prefix}session-7")
    assert value.decode() == fingerprint(**PHONE) and PHONE["ip"] not in value.decode()
    assert 0 < ttl <= 7 * 24 * 3600


def test_an_unreachable_binding_store_is_unavailable_not_a_pass():
    store = UpstashBindingStore("http://127.0.0.1:9", "token", timeout=0.5)

    with pytest.raises(Unavailable):
        store.bind("k", "v", 60)


def test_binding_uses_upstash_when_configured_and_memory_otherwise(upstash):
    with_upstash = load_settings(
        upstash_redis_rest_url=upstash.url, upstash_redis_rest_token=upstash.token
    )
    without = load_settings(upstash_redis_rest_url=None, upstash_redis_rest_token=None)

    assert isinstance(SessionBinder.from_settings(with_upstash)._store, UpstashBindingStore)
    assert isinstance(SessionBinder.from_settings(without)._store, InProcessBindingStore)


def test_the_authenticator_verifies_then_binds(verifier):
    auth = Authenticator(verifier, SessionBinder(InProcessBindingStore()))
    header = "Bearer " + hs256(session_id="session-8")

    auth.authenticate(header, **PHONE)

    with pytest.raises(Unauthenticated):
        auth.authenticate(header, **LAPTOP)


def test_no_authorization_header_is_unauthenticated(verifier):
    with pytest.raises(Unauthenticated):
        Authenticator(verifier).authenticate(None)

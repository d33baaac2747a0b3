"""A lock held longer than the timeouts: user and service sessions both give up, typed and
retryable, instead of waiting for as long as the lock is held."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from backend.errors import Unavailable
from backend.gateway.base import Caller, Rpc, SessionTimeouts
from backend.gateway.direct import DirectGateway
from backend.services import Services

# Short enough for a test; the lock below is held far longer than any of them.
TIMEOUTS = SessionTimeouts(
    user_statement_seconds=0.5,
    user_lock_seconds=0.2,
    service_statement_seconds=0.8,
    service_lock_seconds=0.3,
)
HELD_SECONDS = 6.0


@pytest.fixture
def gateway(pg) -> Iterator[DirectGateway]:
    with DirectGateway(pg.url, max_size=2, timeouts=TIMEOUTS) as gw:
        yield gw


@pytest.fixture
def coach(pg):
    return pg.sign_up()


@pytest.fixture
def held_clients(pg) -> Iterator[None]:
    """Another transaction holds the clients table for HELD_SECONDS, then lets go: a call
    without a lock timeout would wait for it and then succeed."""
    locked, done = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(pg.url, autocommit=False) as conn:
            conn.execute("lock table public.clients in access exclusive mode")
            locked.set()
            done.wait(HELD_SECONDS)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(10)
    yield
    done.set()
    holder.join()


def test_a_user_call_behind_a_held_lock_gives_up_retryable(gateway, coach, held_clients):
    services = Services(gateway.session(Caller.user(coach.id, email=coach.email)))

    with pytest.raises(Unavailable) as caught:
        services.clients.create(first_name="Waiting")

    assert (caught.value.key, caught.value.retryable) == ("lock_not_available", True)


def test_a_service_call_behind_a_held_lock_gives_up_retryable(gateway, coach, held_clients):
    services = Services(gateway.administrative_session())

    with pytest.raises(Unavailable) as caught:
        services.clients.list(include_inactive=True)

    assert (caught.value.key, caught.value.retryable) == ("lock_not_available", True)


def test_a_service_statement_running_past_its_timeout_is_cancelled_retryable(pg, gateway):
    pg.admin.execute(
        "create function public.test_sleep(p_seconds float8) returns void"
        " language sql set search_path = '' as $$ select pg_catalog.pg_sleep(p_seconds) $$"
    )

    with pytest.raises(Unavailable) as caught:
        gateway.administrative_session().execute(
            Rpc("test_sleep", {"p_seconds": HELD_SECONDS}, returns="scalar")
        )

    assert (caught.value.key, caught.value.retryable) == ("query_canceled", True)


def test_every_transaction_carries_the_timeouts_of_its_kind_of_caller(pg, gateway, coach):
    pg.admin.execute(
        "create function public.test_timeouts() returns text language sql stable"
        " set search_path = '' as $$ select pg_catalog.current_setting('lock_timeout')"
        " || ' ' || pg_catalog.current_setting('statement_timeout') $$;"
        " grant execute on function public.test_timeouts() to authenticated"
    )
    call = Rpc("test_timeouts", {}, returns="scalar")

    user = gateway.session(Caller.user(coach.id, email=coach.email)).execute(call)
    service = gateway.administrative_session().execute(call)

    # authenticated keeps its role's own 8s statement_timeout, as PostgREST applies it.
    assert (user, service) == ("200ms 8s", "300ms 800ms")


def test_a_full_pool_turns_into_a_retryable_unavailable(pg):
    with DirectGateway(pg.url, min_size=1, max_size=1, timeout=0.2) as gateway:
        held = gateway._pool.getconn()
        try:
            with pytest.raises(Unavailable) as caught:
                gateway.administrative_session().execute(Rpc("test_nothing", {}))
        finally:
            gateway._pool.putconn(held)

    assert (caught.value.key, caught.value.retryable) == ("pool_timeout", True)

"""A write whose answer was lost: retryable only with its idempotency key, and then done once.

Direct gateway: a real PostgreSQL behind a proxy that cuts the connection
right after COMMIT got through (tests/gateway/proxy.py). Supabase gateway:
the PostgREST stand-in on the same real database commits, then the answer
times out (an httpx ReadTimeout, as when Supabase is slow to answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from backend.errors import OutcomeUnknown, Unavailable
from backend.gateway.base import Caller
from backend.gateway.direct import AsyncDirectGateway, DirectGateway
from backend.gateway.supabase import SupabaseGateway
from backend.services import AsyncServices, Services
from tests.gateway.proxy import CommitCutter
from tests.gateway.stand_in import ANON_KEY, SERVICE_KEY, URL, PostgrestOnDatabase, user_token


@pytest.fixture
def cutter(pg) -> Iterator[CommitCutter]:
    proxy = CommitCutter(pg.url)
    yield proxy
    proxy.close()


@pytest.fixture
def coach(pg):
    return pg.sign_up()


@pytest.fixture
def direct(cutter, coach) -> Iterator[Services]:
    gateway = DirectGateway(cutter.url + " sslmode=disable", min_size=1, max_size=1)
    yield Services(gateway.session(Caller.user(coach.id, email=coach.email)))
    gateway.close()


@pytest.fixture
def postgrest(pg) -> Iterator[PostgrestOnDatabase]:
    fake = PostgrestOnDatabase(pg.url)
    yield fake
    fake.close()


@pytest.fixture
def supabase(postgrest, coach) -> Iterator[Services]:
    http = httpx.Client(transport=httpx.MockTransport(postgrest.handler))
    gateway = SupabaseGateway(URL, ANON_KEY, service_role_key=SERVICE_KEY, http_client=http)
    jwt = user_token(coach.id, coach.email)
    yield Services(gateway.session(Caller.user(coach.id, email=coach.email, access_token=jwt)))
    http.close()


def _clients(pg, coach) -> int:
    return pg.admin.execute(
        "select count(*) from public.clients where coach_id = %s", (coach.id,)
    ).fetchone()[0]


def test_direct_a_keyed_write_cut_after_commit_is_retryable_and_retried_once(
    pg, coach, cutter, direct
):
    cutter.cut_after_commit_of(b"idempotent_write")

    with pytest.raises(OutcomeUnknown) as caught:
        direct.clients.create(first_name="Ann", idempotency_key="create-ann")
    assert (caught.value.key, caught.value.retryable) == ("outcome_unknown", True)
    assert cutter.cuts == 1
    assert _clients(pg, coach) == 1  # it did commit

    again = direct.clients.create(first_name="Ann", idempotency_key="create-ann")

    assert again.first_name == "Ann"
    assert _clients(pg, coach) == 1


def test_direct_a_write_without_a_key_cut_after_commit_is_not_retryable(pg, coach, cutter, direct):
    cutter.cut_after_commit_of(b"insert into")

    with pytest.raises(OutcomeUnknown) as caught:
        direct.clients.create(first_name="Ann")

    assert caught.value.retryable is False
    assert "check whether it was applied" in caught.value.message
    assert _clients(pg, coach) == 1


def test_supabase_a_keyed_write_that_timed_out_is_retryable_and_retried_once(
    pg, coach, postgrest, supabase
):
    postgrest.lose_next_answer = True

    with pytest.raises(OutcomeUnknown) as caught:
        supabase.clients.create(first_name="Ann", idempotency_key="create-ann")
    assert caught.value.retryable is True
    assert _clients(pg, coach) == 1

    again = supabase.clients.create(first_name="Ann", idempotency_key="create-ann")

    assert again.first_name == "Ann"
    assert _clients(pg, coach) == 1


def test_supabase_a_write_without_a_key_that_timed_out_is_not_retryable(
    pg, coach, postgrest, supabase
):
    postgrest.lose_next_answer = True

    with pytest.raises(OutcomeUnknown) as caught:
        supabase.clients.create(first_name="Ann")

    assert (caught.value.key, caught.value.retryable) == ("outcome_unknown", False)
    assert _clients(pg, coach) == 1


def test_supabase_a_read_that_timed_out_stays_retryable(postgrest, supabase):
    postgrest.lose_next_answer = True

    with pytest.raises(Unavailable) as caught:
        supabase.clients.list()

    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retryable is True


def test_supabase_a_write_that_never_left_is_retryable(coach):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    gateway = SupabaseGateway(URL, ANON_KEY, http_client=http)
    jwt = user_token(coach.id, coach.email)
    svc = Services(gateway.session(Caller.user(coach.id, access_token=jwt)))

    with pytest.raises(Unavailable) as caught:
        svc.clients.create(first_name="Ann")

    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retryable is True


def test_async_direct_a_keyed_write_cut_after_commit_is_retried_once(pg, coach, cutter):
    async def scenario():
        gateway = AsyncDirectGateway(cutter.url + " sslmode=disable", min_size=1, max_size=1)
        svc = AsyncServices(gateway.session(Caller.user(coach.id, email=coach.email)))
        try:
            cutter.cut_after_commit_of(b"idempotent_write")
            with pytest.raises(OutcomeUnknown) as caught:
                await svc.clients.create(first_name="Ann", idempotency_key="create-ann")
            again = await svc.clients.create(first_name="Ann", idempotency_key="create-ann")
            return caught.value, again
        finally:
            await gateway.close()

    error, again = asyncio.run(scenario())

    assert error.retryable is True
    assert again.first_name == "Ann"
    assert _clients(pg, coach) == 1

"""The asyncio Supabase gateway sends the same requests as the synchronous one.

Supabase's servers are replaced by a recording httpx transport (see conftest).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from backend.errors import DoubleBooking, NotFound, OutcomeUnknown, Unavailable
from backend.gateway.base import Caller, Order, Select
from backend.gateway.supabase import AsyncSupabaseGateway
from backend.services import AsyncServices
from tests.gateway.fakes import ANON_KEY, SERVICE_KEY, URL, USER_ID, USER_TOKEN, FakeSupabase


def run_with(supabase: FakeSupabase, scenario):
    async def main():
        http = httpx.AsyncClient(transport=httpx.MockTransport(supabase.handler))
        gateway = AsyncSupabaseGateway(
            URL, ANON_KEY, service_role_key=SERVICE_KEY, http_client=http
        )
        try:
            return await scenario(gateway)
        finally:
            await http.aclose()

    return asyncio.run(main())


def test_async_rpc_call_matches_the_sync_request(supabase):
    supabase.reply(400, {"code": "23P01", "message": "conflicting key value", "hint": None})
    client_id = uuid.uuid4()

    async def scenario(gateway):
        services = AsyncServices(gateway.session(Caller.user(USER_ID, access_token=USER_TOKEN)))
        await services.lessons.create(
            client_ids=[client_id],
            start_time=datetime(2030, 1, 1, 9, tzinfo=UTC),
            end_time=datetime(2030, 1, 1, 10, tzinfo=UTC),
        )

    with pytest.raises(DoubleBooking):
        run_with(supabase, scenario)

    request = supabase.last
    assert (request.method, request.url.path) == (
        "POST",
        "/rest/v1/rpc/create_lesson_with_participants",
    )
    assert request.headers["authorization"] == f"Bearer {USER_TOKEN}"
    assert supabase.body()["p_client_ids"] == [str(client_id)]


def test_async_update_that_touched_no_row_is_not_found(supabase):
    async def scenario(gateway):
        services = AsyncServices(gateway.session(Caller.user(USER_ID, access_token=USER_TOKEN)))
        await services.clients.update(uuid.uuid4(), first_name="Ghost")

    with pytest.raises(NotFound):
        run_with(supabase, scenario)

    assert supabase.last.method == "PATCH"


def test_async_administrative_session_uses_the_service_key(supabase):
    async def scenario(gateway):
        return await AsyncServices(gateway.administrative_session()).clients.list()

    assert run_with(supabase, scenario).items == []
    assert supabase.last.headers["apikey"] == SERVICE_KEY


def test_async_a_list_past_the_row_cap_is_read_page_by_page(supabase):
    rows = [{"id": str(uuid.uuid4()), "coach_id": USER_ID, "first_name": "C"} for _ in range(1001)]
    supabase.reply(206, rows[:1000], headers={"content-range": "0-999/1001"})
    supabase.reply(200, rows[1000:], headers={"content-range": "1000-1000/1001"})

    async def scenario(gateway):
        user = Caller.user(USER_ID, access_token=USER_TOKEN)
        request = Select("clients", order=(Order("first_name"), Order("id")))
        return await gateway.session(user).execute(request)

    assert len(run_with(supabase, scenario)) == 1001


def test_async_a_keyed_write_that_timed_out_is_retryable_outcome_unknown(supabase):
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    supabase.replies.append(time_out)

    async def scenario(gateway):
        user = Caller.user(USER_ID, access_token=USER_TOKEN)
        await AsyncServices(gateway.session(user)).clients.create(
            first_name="Ann", idempotency_key="ann"
        )

    with pytest.raises(OutcomeUnknown) as caught:
        run_with(supabase, scenario)

    assert caught.value.retryable is True
    assert supabase.last.url.path == "/rest/v1/rpc/idempotent_write"


def test_async_an_upstream_timeout_answer_keeps_its_status(supabase):
    supabase.reply(504, {"message": "The upstream server is timing out"})

    async def scenario(gateway):
        user = Caller.user(USER_ID, access_token=USER_TOKEN)
        await AsyncServices(gateway.session(user)).clients.list()

    with pytest.raises(Unavailable):
        run_with(supabase, scenario)

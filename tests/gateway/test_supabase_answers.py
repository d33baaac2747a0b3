"""Answers that do not come from PostgREST's own error table, and Supabase's API keys.

Supabase's API gateway answers some failures itself, before or after
PostgREST, with a JSON body that has only a `message`, or with no JSON at
all; the gateway maps them by HTTP status. Supabase's servers are replaced by
the recording transport of conftest (no PostgREST runs here).
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from backend.errors import (
    ContractError,
    Forbidden,
    NotFound,
    OutcomeUnknown,
    Unauthenticated,
    Unavailable,
)
from backend.gateway.base import Caller, Order, Select
from backend.gateway.supabase import SupabaseConfigError, SupabaseGateway
from backend.services import Services
from tests.gateway.fakes import URL, USER_ID, USER_TOKEN, FakeSupabase

CLIENT = uuid.UUID("0d1e2f30-4a57-4a0e-9a8e-3c3b1a9f0c11")
PUBLISHABLE = "sb_publishable_4f2b7c1a9d8e6f5a3b2c1d0e"
SECRET = "sb_secret_9a8b7c6d5e4f3a2b1c0d9e8f"


def test_an_upstream_timeout_on_a_read_is_unavailable(supabase, svc):
    supabase.reply(504, {"message": "The upstream server is timing out"})

    with pytest.raises(Unavailable) as caught:
        svc.clients.list()

    assert caught.value.retryable
    assert "timing out" in caught.value.message


def test_an_upstream_timeout_on_a_write_is_outcome_unknown(supabase, svc):
    supabase.reply(504, {"message": "The upstream server is timing out"})

    with pytest.raises(OutcomeUnknown) as caught:
        svc.clients.create(first_name="Ann")

    assert caught.value.retryable is False


def test_an_invalid_upstream_response_to_a_keyed_write_is_retryable(supabase, svc):
    supabase.reply(502, {"message": "An invalid response was received from the upstream server"})

    with pytest.raises(OutcomeUnknown) as caught:
        svc.clients.create(first_name="Ann", idempotency_key="k-1")

    assert caught.value.retryable is True


def test_an_invalid_api_key_is_unauthenticated(supabase, svc):
    supabase.reply(401, {"message": "Invalid API key"})

    with pytest.raises(Unauthenticated):
        svc.clients.list()


def test_a_rate_limited_answer_without_json_is_unavailable_with_its_retry_after(supabase, svc):
    supabase.replies.append(
        httpx.Response(429, text="Too Many Requests", headers={"Retry-After": "7"})
    )

    with pytest.raises(Unavailable) as caught:
        svc.clients.list()

    assert (caught.value.key, caught.value.retry_after) == ("upstream_rate_limited", 7.0)


def test_a_forbidden_answer_without_json_is_forbidden(supabase, svc):
    supabase.replies.append(httpx.Response(403, text="<html>Forbidden</html>"))

    with pytest.raises(Forbidden):
        svc.clients.list()


def test_an_object_requested_of_ten_rows_is_not_no_row(supabase, svc):
    supabase.reply(
        406,
        {
            "code": "PGRST116",
            "message": "Cannot coerce the result to a single JSON object",
            "details": "The result contains 10 rows",
            "hint": None,
        },
    )

    with pytest.raises(ContractError) as caught:
        svc.clients.get(CLIENT)

    assert caught.value.key == "multiple_rows"


def test_an_object_requested_of_no_row_is_not_found(supabase, svc):
    supabase.reply(
        406,
        {
            "code": "PGRST116",
            "message": "Cannot coerce the result to a single JSON object",
            "details": "The result contains 0 rows",
            "hint": None,
        },
    )

    with pytest.raises(NotFound):
        svc.clients.get(CLIENT)


def test_a_missing_privilege_of_an_anonymous_caller_is_unauthenticated(supabase, gateway):
    supabase.reply(401, {"code": "42501", "message": "permission denied for table clients"})

    with pytest.raises(Unauthenticated):
        Services(gateway.session(Caller.anon())).clients.create(first_name="Ann")


def test_a_missing_privilege_of_a_signed_in_caller_is_forbidden(supabase, svc):
    supabase.reply(403, {"code": "42501", "message": "permission denied for table payments"})

    with pytest.raises(Forbidden):
        svc.clients.create(first_name="Ann")


def test_an_expired_token_says_so_as_local_verification_does(supabase, svc):
    supabase.reply(401, {"code": "PGRST303", "message": "JWT expired"})

    with pytest.raises(Unauthenticated) as caught:
        svc.clients.list()

    assert caught.value.key == "token_expired"


@pytest.fixture
def new_keys():
    fake = FakeSupabase()
    http = httpx.Client(transport=httpx.MockTransport(fake.handler))
    gateway = SupabaseGateway(URL, PUBLISHABLE, service_role_key=SECRET, http_client=http)
    yield fake, gateway
    http.close()


def test_a_publishable_key_goes_as_apikey_only_for_an_anonymous_caller(new_keys):
    fake, gateway = new_keys

    Services(gateway.session(Caller.anon())).lesson_types.list()

    assert fake.last.headers["apikey"] == PUBLISHABLE
    assert "authorization" not in fake.last.headers


def test_a_secret_key_goes_as_apikey_only_for_the_administrative_session(new_keys):
    fake, gateway = new_keys

    Services(gateway.administrative_session()).clients.list()

    assert fake.last.headers["apikey"] == SECRET
    assert "authorization" not in fake.last.headers


def test_with_new_keys_a_users_token_is_still_the_bearer(new_keys):
    fake, gateway = new_keys
    user = Caller.user(USER_ID, access_token=USER_TOKEN)

    Services(gateway.session(user)).clients.list()

    assert fake.last.headers["apikey"] == PUBLISHABLE
    assert fake.last.headers["authorization"] == f"Bearer {USER_TOKEN}"
    assert SECRET not in str(fake.last.headers.raw)


def test_a_list_longer_than_the_row_cap_is_read_page_by_page(supabase, svc):
    rows = [{"id": str(uuid.uuid4()), "coach_id": USER_ID, "first_name": "C"} for _ in range(1001)]
    supabase.reply(206, rows[:1000], headers={"content-range": "0-999/1001"})
    supabase.reply(200, rows[1000:], headers={"content-range": "1000-1000/1001"})

    clients = svc.session.execute(Select("clients", order=(Order("first_name"), Order("id"))))

    assert len(clients) == 1001
    offsets = [dict(httpx.QueryParams(r.url.query))["offset"] for r in supabase.requests]
    assert offsets == ["0", "1000"]


def test_a_server_cap_below_the_page_size_still_gets_every_row(supabase, svc):
    rows = [{"id": str(uuid.uuid4()), "coach_id": USER_ID, "first_name": "C"} for _ in range(700)]
    supabase.reply(206, rows[:500], headers={"content-range": "0-499/700"})
    supabase.reply(200, rows[500:], headers={"content-range": "500-699/700"})

    assert len(svc.session.execute(Select("clients", order=(Order("id"),)))) == 700
    assert dict(httpx.QueryParams(supabase.last.url.query))["offset"] == "500"


def test_a_secret_key_in_the_anon_slot_is_refused_at_start():
    with pytest.raises(SupabaseConfigError, match="publishable"):
        SupabaseGateway(URL, SECRET)


def test_a_publishable_key_in_the_service_slot_is_refused_at_start():
    with pytest.raises(SupabaseConfigError, match="secret key"):
        SupabaseGateway(URL, PUBLISHABLE, service_role_key=PUBLISHABLE)

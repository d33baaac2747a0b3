"""The exact HTTP requests supabase-py sends for each service call, and how answers map back.

Supabase's servers are replaced by a recording httpx transport (see conftest):
no PostgREST runs here, so these tests pin the requests, not PostgREST itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest

from backend.errors import (
    CapacityExceeded,
    ContractError,
    DoubleBooking,
    Forbidden,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from backend.gateway.base import Caller
from backend.observability import request_scope
from backend.services import Services
from tests.gateway.fakes import ANON_KEY, SERVICE_KEY, URL, USER_ID, USER_TOKEN

COACH = USER_ID
CLIENT = "0d1e2f30-4a57-4a0e-9a8e-3c3b1a9f0c11"
LESSON = "1e2f3041-4a57-4a0e-9a8e-3c3b1a9f0c11"
START = datetime(2030, 6, 1, 9, 0, tzinfo=UTC)


def client_row(**kw):
    return {"id": CLIENT, "coach_id": COACH, "first_name": "Ann", "is_active": True, **kw}


def lesson_row(**kw):
    return {
        "id": LESSON,
        "coach_id": COACH,
        "start_time": START.isoformat(),
        "end_time": (START + timedelta(hours=1)).isoformat(),
        "status": "scheduled",
        "price_cents": 5000,
        **kw,
    }


def query(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode())


def test_a_user_request_carries_the_anon_key_and_the_users_own_token(supabase, svc):
    supabase.reply(201, [client_row()])

    svc.clients.create(first_name="Ann")

    headers = supabase.last.headers
    assert (headers["apikey"], headers["authorization"]) == (ANON_KEY, f"Bearer {USER_TOKEN}")
    assert SERVICE_KEY not in str(headers.raw)


def test_create_client_posts_the_row_and_asks_for_it_back(supabase, svc):
    supabase.reply(201, [client_row(email="ann@example.test")])

    client = svc.clients.create(first_name="Ann", email="ann@example.test")

    request = supabase.last
    assert (request.method, request.url.path) == ("POST", "/rest/v1/clients")
    assert request.headers["prefer"] == "return=representation"
    assert request.headers["content-profile"] == "public"
    assert supabase.body() == {
        "first_name": "Ann",
        "last_name": None,
        "email": "ann@example.test",
        "phone": None,
        "notes": None,
        "is_active": True,
    }
    assert client.id == uuid.UUID(CLIENT)


def test_list_clients_filters_active_ones_in_name_order(supabase, svc):
    supabase.reply(200, [client_row()])

    svc.clients.list()

    assert (supabase.last.method, supabase.last.url.path) == ("GET", "/rest/v1/clients")
    assert query(supabase.last) == [
        ("select", "*"),
        ("is_active", "eq.true"),
        ("order", "first_name.asc,id.asc"),
        ("limit", "51"),
    ]
    assert "count=exact" not in supabase.last.headers.get("prefer", "")  # one page, no count


def test_get_client_asks_for_one_object(supabase, svc):
    supabase.reply(200, client_row())

    svc.clients.get(uuid.UUID(CLIENT))

    assert supabase.last.headers["accept"] == "application/vnd.pgrst.object+json"
    assert query(supabase.last) == [("select", "*"), ("id", f"eq.{CLIENT}")]


def test_pgrst116_for_a_missing_row_is_not_found(supabase, svc):
    supabase.reply(
        406,
        {
            "code": "PGRST116",
            "details": "The result contains 0 rows",
            "hint": None,
            "message": "JSON object requested, multiple (or no) rows returned",
        },
    )

    with pytest.raises(NotFound):
        svc.clients.get(uuid.uuid4())


def test_update_client_patches_only_the_given_fields(supabase, svc):
    supabase.reply(200, [client_row(notes="mornings")])

    svc.clients.update(uuid.UUID(CLIENT), notes="mornings")

    request = supabase.last
    assert (request.method, query(request)) == ("PATCH", [("id", f"eq.{CLIENT}")])
    assert supabase.body() == {"notes": "mornings"}
    assert request.headers["prefer"] == "return=representation"


def test_an_update_that_touched_no_row_is_not_found(supabase, svc):
    supabase.reply(200, [])

    with pytest.raises(NotFound):
        svc.clients.update(uuid.UUID(CLIENT), notes="x")


def test_a_delete_that_touched_no_row_is_not_found(supabase, svc):
    supabase.reply(200, [])

    with pytest.raises(NotFound):
        svc.clients.delete(uuid.UUID(CLIENT))

    assert (supabase.last.method, query(supabase.last)) == ("DELETE", [("id", f"eq.{CLIENT}")])


def test_create_lesson_calls_the_rpc_with_the_contracts_parameter_names(supabase, svc):
    supabase.reply(200, lesson_row())
    lesson_type = uuid.uuid4()

    lesson = svc.lessons.create(
        client_ids=[uuid.UUID(CLIENT)], start_time=START, lesson_type_id=lesson_type
    )

    request = supabase.last
    assert (request.method, request.url.path) == (
        "POST",
        "/rest/v1/rpc/create_lesson_with_participants",
    )
    assert supabase.body() == {
        "p_client_ids": [CLIENT],
        "p_start_time": "2030-06-01T09:00:00Z",
        "p_end_time": None,
        "p_lesson_type_id": str(lesson_type),
        "p_title": None,
        "p_location": None,
        "p_notes": None,
        "p_price_cents": None,
    }
    assert lesson.start_time == START


def test_update_lesson_sends_only_what_changes(supabase, svc):
    supabase.reply(200, lesson_row(title="Moved"))

    svc.lessons.update(uuid.UUID(LESSON), title="Moved", start_time=START)

    assert supabase.last.url.path == "/rest/v1/rpc/update_lesson"
    assert supabase.body() == {
        "p_lesson_id": LESSON,
        "p_start_time": "2030-06-01T09:00:00Z",
        "p_title": "Moved",
    }


def test_cancel_and_complete_lesson_call_their_rpcs(supabase, svc):
    supabase.reply(200, lesson_row(status="cancelled"))
    supabase.reply(200, lesson_row(status="completed"))
    absent = uuid.uuid4()

    svc.lessons.cancel(uuid.UUID(LESSON), reason="rain")
    svc.lessons.complete(uuid.UUID(LESSON), absent_client_ids=[absent])

    assert [r.url.path for r in supabase.requests] == [
        "/rest/v1/rpc/cancel_lesson",
        "/rest/v1/rpc/complete_lesson",
    ]
    assert supabase.body(0) == {"p_lesson_id": LESSON, "p_reason": "rain"}
    assert supabase.body(1) == {"p_lesson_id": LESSON, "p_absent_client_ids": [str(absent)]}


def test_create_recurring_reads_the_set_of_lessons(supabase, svc):
    supabase.reply(200, [lesson_row(), lesson_row(id=str(uuid.uuid4()))])

    lessons = svc.lessons.create_recurring(
        client_ids=[uuid.UUID(CLIENT)],
        first_start_time=START,
        duration_minutes=60,
        frequency="weekly",
        occurrences=2,
        timezone="Europe/Paris",
    )

    assert len(lessons) == 2
    assert supabase.body()["p_timezone"] == "Europe/Paris"
    assert supabase.body()["p_occurrences"] == 2


def test_cancel_recurring_reads_a_scalar_count(supabase, svc):
    supabase.reply(200, 3)
    series = uuid.uuid4()

    assert svc.lessons.cancel_recurring(series, from_time=START) == 3
    assert supabase.body() == {
        "p_recurring_lesson_id": str(series),
        "p_from": "2030-06-01T09:00:00+00:00",
    }


def test_record_payment_sends_the_charges_not_an_amount(supabase, svc):
    charge = uuid.uuid4()
    supabase.reply(
        200,
        {
            "id": str(uuid.uuid4()),
            "coach_id": COACH,
            "client_id": CLIENT,
            "amount_cents": 5000,
            "method": "cash",
            "status": "succeeded",
        },
    )

    payment = svc.payments.record(
        client_id=uuid.UUID(CLIENT), participant_ids=[charge], method="cash"
    )

    assert supabase.last.url.path == "/rest/v1/rpc/record_payment"
    assert supabase.body() == {
        "p_client_id": CLIENT,
        "p_participant_ids": [str(charge)],
        "p_method": "cash",
        "p_note": None,
    }
    assert payment.amount_cents == 5000


def test_the_dashboard_reads_the_callers_one_row_of_the_view(supabase, svc):
    supabase.reply(
        200,
        [
            {
                "coach_id": COACH,
                "active_clients": 2,
                "outstanding_cents": 5000,
                "clients_with_balance": 1,
                "lessons_next_7_days": 0,
                "revenue_30_days_cents": 0,
            }
        ],
    )

    board = svc.reads.dashboard()

    assert supabase.last.url.path == "/rest/v1/coach_dashboard"
    assert query(supabase.last) == [("select", "*"), ("limit", "1")]
    assert board.outstanding_cents == 5000


def test_balances_and_history_read_their_views_in_order(supabase, svc):
    svc.reads.balances(only_owing=True)
    svc.reads.history(uuid.UUID(CLIENT), limit=20)

    assert query(supabase.requests[0]) == [
        ("select", "*"),
        ("unpaid_cents", "gt.0"),
        ("order", "unpaid_cents.desc,first_name.asc,client_id.asc"),
        ("limit", "51"),
    ]
    assert supabase.requests[1].url.path == "/rest/v1/lesson_history"
    assert query(supabase.requests[1]) == [
        ("select", "*"),
        ("client_id", f"eq.{CLIENT}"),
        ("order", "start_time.desc,lesson_id.asc,client_id.asc"),
        ("limit", "21"),
    ]


def test_the_calendar_sends_times_with_their_offset_intact(supabase, svc):
    svc.reads.calendar(start=START, end=START + timedelta(days=7))

    raw = supabase.last.url.query.decode()
    assert "start_time=lt.2030-06-08T09%3A00%3A00%2B00%3A00" in raw  # '+' encoded, not a space
    assert query(supabase.last)[-3:] == [
        ("status", "neq.cancelled"),
        ("order", "start_time.asc,id.asc"),
        ("limit", "51"),
    ]


def test_the_request_id_is_sent_so_postgrest_puts_it_in_request_headers(supabase, svc):
    with request_scope("req-supabase-7"):
        svc.reads.balances()

    assert supabase.last.headers["x-request-id"] == "req-supabase-7"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # statuses as PostgREST's src/PostgREST/Error.hs (v13.0) gives them
        (400, {"code": "23P01", "message": "conflicting key", "hint": None}, DoubleBooking),
        (
            400,
            {"code": "CB004", "message": "at most 1", "hint": "capacity_exceeded"},
            CapacityExceeded,
        ),
        (400, {"code": "CB001", "message": "not found", "hint": "not_found"}, NotFound),
        (403, {"code": "42501", "message": "permission denied"}, Forbidden),
        (401, {"code": "PGRST303", "message": "JWT expired"}, Unauthenticated),
        (401, {"code": "PGRST301", "message": "Expected 3 parts in JWT; got 1"}, Unauthenticated),
        (503, {"code": "PGRST001", "message": "no connection"}, Unavailable),
    ],
)
def test_postgrest_errors_become_the_same_typed_errors(supabase, svc, status, body, error):
    supabase.reply(status, body)

    with pytest.raises(error):
        svc.lessons.create(
            client_ids=[uuid.UUID(CLIENT)], start_time=START, lesson_type_id=uuid.uuid4()
        )


def test_pgrst202_is_a_contract_error_that_keeps_postgrests_hint(supabase, svc):
    supabase.reply(
        404,
        {
            "code": "PGRST202",
            "details": "Searched for the function public.cancel_lesson"
            " with parameters p_lesson_id, p_reason",
            "hint": "Perhaps you meant to call the function public.cancel_lesson(p_lesson_id)",
            "message": "Could not find the function public.cancel_lesson(p_lesson_id, p_reason)",
        },
    )

    with pytest.raises(ContractError, match=r"Perhaps you meant to call the function"):
        svc.lessons.cancel(uuid.UUID(LESSON), reason="rain")


def test_a_gateway_error_page_without_json_is_unavailable(supabase, svc):
    supabase.replies.append(httpx.Response(502, text="<html>Bad gateway</html>"))

    with pytest.raises(Unavailable):
        svc.reads.balances()


def test_an_unreachable_api_is_unavailable_and_retryable(supabase, svc):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    supabase.replies.append(refuse)

    with pytest.raises(Unavailable) as caught:
        svc.reads.balances()

    assert caught.value.retryable


def test_interleaved_users_each_send_their_own_token(supabase, gateway):
    a = Services(gateway.session(Caller.user(uuid.uuid4(), access_token="token-a")))
    b = Services(gateway.session(Caller.user(uuid.uuid4(), access_token="token-b")))

    a.reads.balances()
    b.reads.balances()
    a.reads.balances()

    assert [r.headers["authorization"] for r in supabase.requests] == [
        "Bearer token-a",
        "Bearer token-b",
        "Bearer token-a",
    ]


def test_a_user_caller_without_a_token_is_unauthenticated(gateway):
    with pytest.raises(Unauthenticated):
        gateway.session(Caller.user(uuid.uuid4()))


def test_the_service_key_is_only_for_the_administrative_session(supabase, gateway):
    with pytest.raises(Forbidden):
        gateway.session(Caller.service())

    Services(gateway.administrative_session()).clients.list()

    headers = supabase.last.headers
    assert (headers["apikey"], headers["authorization"]) == (SERVICE_KEY, f"Bearer {SERVICE_KEY}")


def test_an_anonymous_request_uses_the_anon_key_as_its_token(supabase, gateway):
    Services(gateway.session(Caller.anon())).clients.list()

    assert supabase.last.headers["authorization"] == f"Bearer {ANON_KEY}"
    assert str(supabase.last.url).startswith(f"{URL}/rest/v1/")


# --- redirects are not followed: the apikey header would go along -------------------------


class Redirecting:
    """Supabase answering with a redirect to another host, and that host, recording all."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.host == "elsewhere.example":
            return httpx.Response(200, json=[])
        return httpx.Response(307, headers={"location": "https://elsewhere.example/steal"})


def test_a_redirect_to_another_host_is_not_followed_with_the_service_key():
    from backend.errors import BackendError
    from backend.gateway.supabase import SupabaseGateway

    server = Redirecting()
    gateway = SupabaseGateway(
        URL,
        ANON_KEY,
        service_role_key=SERVICE_KEY,
        transport=httpx.MockTransport(server.handler),
    )
    try:
        with pytest.raises(BackendError) as caught:
            Services(gateway.administrative_session()).clients.list()
    finally:
        gateway.close()

    assert [r.url.host for r in server.seen] == ["proj.supabase.co"]
    assert caught.value.key == "upstream_redirect" and not caught.value.retryable


def test_the_async_gateway_does_not_follow_redirects_either():
    import asyncio

    from backend.errors import BackendError
    from backend.gateway.base import Select
    from backend.gateway.supabase import AsyncSupabaseGateway

    server = Redirecting()

    async def main() -> None:
        gateway = AsyncSupabaseGateway(
            URL,
            ANON_KEY,
            service_role_key=SERVICE_KEY,
            transport=httpx.MockTransport(server.handler),
        )
        try:
            with pytest.raises(BackendError):
                await gateway.administrative_session().execute(Select("clients"))
        finally:
            await gateway.close()

    asyncio.run(main())

    assert [r.url.host for r in server.seen] == ["proj.supabase.co"]

"""The HTTP layer: authentication, tenancy, problems, request ids, limits, health, OpenAPI.

The app runs in process through httpx's ASGI transport, over the real database.
"""

from __future__ import annotations

import re
import uuid

import pytest
from openapi_spec_validator import validate

from backend.api.app import create_app
from backend.app import Backend
from backend.config import load_settings
from backend.gateway.direct import DirectGateway
from tests.api.harness import Api, owing_client, token_for
from tests.services.support import hours_from_now


def authenticated_operations(api):
    spec = api.request("GET", "/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") and not path.startswith("/auth/")
    ]


def concrete(path):
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_every_coach_endpoint_is_401_without_a_token(api):
    operations = authenticated_operations(api)
    assert len(operations) >= 25

    for method, path in operations:
        answer = api.request(method, concrete(path))
        assert (method, path, answer.status_code) == (method, path, 401)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("header", ["Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer", "Bearer not.a.jwt"])
def test_a_malformed_authorization_is_401(api, header):
    answer = api.request("GET", "/clients", headers={"Authorization": header})

    assert (answer.status_code, answer.json()["status"]) == (401, 401)


@pytest.fixture
def others(svc):
    """Another coach's view of this coach's client, lesson and lesson type."""
    client, charges = owing_client(svc, lessons=1)
    lesson_id = charges[0].lesson_id
    kind = svc.lesson_types.create(name="Other", duration_minutes=30, price_cents=100)
    return client, lesson_id, kind, charges


def test_another_coachs_ids_are_404_and_change_nothing(api, pg, svc, others):
    client, lesson_id, kind, charges = others
    intruder = token_for(pg.sign_up().id)
    payment = {
        "client_id": str(client.id),
        "participant_ids": [str(charges[0].id)],
        "method": "cash",
    }
    attempts = [
        ("GET", f"/clients/{client.id}", None),
        ("PATCH", f"/clients/{client.id}", {"first_name": "Eve"}),
        ("DELETE", f"/clients/{client.id}", None),
        ("GET", f"/clients/{client.id}/charges", None),
        ("GET", f"/lesson-types/{kind.id}", None),
        ("PATCH", f"/lesson-types/{kind.id}", {"name": "Taken"}),
        ("DELETE", f"/lesson-types/{kind.id}", None),
        ("GET", f"/lessons/{lesson_id}", None),
        ("PATCH", f"/lessons/{lesson_id}", {"title": "Moved"}),
        ("POST", f"/lessons/{lesson_id}/cancel", {}),
        ("POST", f"/lessons/{lesson_id}/complete", {}),
        ("GET", f"/balances/{client.id}", None),
        ("POST", "/payments", payment),
    ]
    before = pg.admin.execute("select count(*) from audit_log").fetchone()[0]

    for method, path, body in attempts:
        answer = api.request(method, path, token=intruder, json=body)
        assert (method, path, answer.status_code) == (method, path, 404)
        assert answer.json()["key"] == "not_found"

    assert pg.admin.execute("select count(*) from audit_log").fetchone()[0] == before
    assert svc.clients.get(client.id).first_name == "Ann"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/clients", {}, "first_name"),
        ("POST", "/clients", {"first_name": "Ann", "coach_id": str(uuid.uuid4())}, "coach_id"),
        (
            "POST",
            "/lessons",
            {"client_ids": [], "start_time": "2030-01-01T10:00:00Z"},
            "client_ids",
        ),
        (
            "POST",
            "/lesson-types",
            {"name": "X", "duration_minutes": 0, "price_cents": 1},
            "duration_minutes",
        ),
        ("PATCH", "/coaches/me", {"timezone": "Mars/Olympus"}, "timezone"),
        ("GET", "/clients?limit=201", None, "query.limit"),
        ("GET", "/clients?cursor=garbage", None, "cursor"),
        ("GET", "/calendar?start=2030-01-02T00:00:00Z&end=2030-01-01T00:00:00Z", None, "__root__"),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field(api, token, method, path, body, field):
    answer = api.request(method, path, token=token, json=body)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["key"], problem["status"]) == ("validation_failed", 422)
    assert field in problem["errors"], problem["errors"]


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "tab\there", "caf\u00e9".encode()])
def test_a_malformed_idempotency_key_is_a_422_problem(api, token, key):
    answer = api.request(
        "POST",
        "/clients",
        token=token,
        json={"first_name": "Ann"},
        headers={"Idempotency-Key": key},
    )

    assert (answer.status_code, answer.json()["key"]) == (422, "invalid_idempotency_key")
    assert "Idempotency-Key" in answer.json()["errors"]


def test_the_31st_lesson_write_in_a_minute_is_429_with_retry_after(api, token):
    missing = uuid.uuid4()
    answers = [
        api.request("POST", f"/lessons/{missing}/cancel", token=token, json={}) for _ in range(31)
    ]

    assert {a.status_code for a in answers[:30]} == {404}
    limited = answers[30]
    assert (limited.status_code, limited.json()["key"]) == (429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["ratelimit-policy"] == '"lesson";q=30;w=60'
    assert limited.headers["ratelimit"].startswith('"lesson";r=0;t=')


def test_the_request_id_is_returned_and_stored_with_the_audit_entry(api, token, pg):
    answer = api.request(
        "POST",
        "/clients",
        token=token,
        json={"first_name": "Ann"},
        headers={"X-Request-Id": "req-abc-1"},
    )

    assert (answer.status_code, answer.headers["x-request-id"]) == (201, "req-abc-1")
    stored = pg.admin.execute(
        "select request_id from audit_log where table_name = 'clients' and record_id = %s",
        (answer.json()["id"],),
    ).fetchone()
    assert stored == ("req-abc-1",)


def test_a_request_without_an_id_gets_one(api):
    assert len(api.request("GET", "/healthz").headers["x-request-id"]) >= 16


def test_a_problem_carries_the_request_id(api):
    answer = api.request("GET", "/clients", headers={"X-Request-Id": "req-problem-1"})

    assert answer.json()["request_id"] == "req-problem-1"


def test_an_unexpected_failure_is_a_bare_500_without_its_text(api, token, monkeypatch):
    from backend.services.clients import ClientService

    def explode(self, **kw):
        raise RuntimeError("select secret from pg_authid where password = 'hunter2'")

    monkeypatch.setattr(ClientService, "list", explode)

    answer = api.request("GET", "/clients", token=token)

    assert (answer.status_code, answer.json()["key"]) == (500, "internal_error")
    assert "hunter2" not in answer.text and "select" not in answer.text


def test_a_database_error_never_shows_the_databases_text(api, token, svc):
    svc.lesson_types.create(name="Single", duration_minutes=60, price_cents=100)

    answer = api.request(
        "POST",
        "/lesson-types",
        token=token,
        json={"name": "Single", "duration_minutes": 60, "price_cents": 100},
    )

    assert (answer.status_code, answer.json()["key"]) == (409, "duplicate")
    assert "constraint" not in answer.text and "lesson_types_" not in answer.text


def test_the_coach_manages_clients_and_lessons_through_the_api(api, token, coach):
    ann = api.request("POST", "/clients", token=token, json={"first_name": "Ann"}).json()
    kind = api.request(
        "POST",
        "/lesson-types",
        token=token,
        json={"name": "Single", "duration_minutes": 60, "price_cents": 5000},
    ).json()
    start = hours_from_now(-3).isoformat()
    lesson = api.request(
        "POST",
        "/lessons",
        token=token,
        json={"client_ids": [ann["id"]], "start_time": start, "lesson_type_id": kind["id"]},
    )
    assert lesson.status_code == 201, lesson.text
    lesson_id = lesson.json()["id"]
    assert (
        api.request("POST", f"/lessons/{lesson_id}/complete", token=token, json={}).status_code
        == 200
    )

    shown = api.request("GET", f"/lessons/{lesson_id}", token=token).json()
    assert [p["client_id"] for p in shown["participants"]] == [ann["id"]]
    assert api.request("GET", "/balances", token=token).json()["items"][0]["unpaid_cents"] == 5000
    assert api.request("GET", "/dashboard", token=token).json()["outstanding_cents"] == 5000
    history = api.request("GET", "/lesson-history", token=token, params={"limit": 1}).json()
    assert [h["lesson_id"] for h in history["items"]] == [lesson_id]
    me = api.request("PATCH", "/coaches/me", token=token, json={"business_name": "Ace Tennis"})
    assert (me.status_code, me.json()["business_name"], me.json()["id"]) == (
        200,
        "Ace Tennis",
        str(coach.id),
    )


def test_lists_are_pages_with_a_cursor(api, token):
    for name in ("Cat", "Ann", "Bob"):
        api.request("POST", "/clients", token=token, json={"first_name": name})

    first = api.request("GET", "/clients", token=token, params={"limit": 2}).json()
    second = api.request(
        "GET", "/clients", token=token, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    names = [c["first_name"] for c in first["items"] + second["items"]]
    assert (names, second["next_cursor"]) == (["Ann", "Bob", "Cat"], None)


def test_healthz_answers(api):
    assert api.request("GET", "/healthz").json() == {"status": "ok", "checks": {}}


def test_readyz_checks_the_database(api):
    answer = api.request("GET", "/readyz")

    assert (answer.status_code, answer.json()["checks"]) == (200, {"database": "ok"})


def test_readyz_is_503_when_the_database_does_not_answer(backend):
    unreachable = DirectGateway("postgresql://postgres@127.0.0.1:1/none", min_size=0, timeout=0.5)
    down = Backend(backend.settings, unreachable)
    try:
        answer = Api(create_app(down)).request("GET", "/readyz")
    finally:
        down.close()

    assert (answer.status_code, answer.json()["status"]) == (503, "unavailable")


def test_sign_in_without_supabase_auth_is_a_problem_not_a_crash(api):
    answer = api.request(
        "POST", "/auth/sign-in", json={"email": "ann@example.test", "password": "x"}
    )

    assert (answer.status_code, answer.json()["key"]) == (403, "no_supabase")


def test_openapi_describes_every_route_with_problem_responses(api):
    spec = api.request("GET", "/openapi.json").json()

    validate(spec)  # raises on anything the OpenAPI 3 schema refuses
    assert spec["openapi"].startswith("3.")
    assert "/webhooks/stripe" in spec["paths"] and "/payments/checkout" in spec["paths"]
    assert "Problem" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert api.request("GET", "/docs").status_code == 200


def test_cors_answers_only_the_configured_origins(backend):
    settings = load_settings(
        **{**backend.settings.model_dump(), "cors_origins": "https://app.example.test"}
    )
    cors_api = Api(create_app(Backend(settings, backend.gateway)))
    preflight = {"Access-Control-Request-Method": "POST"}

    allowed = cors_api.request(
        "OPTIONS", "/clients", headers={"Origin": "https://app.example.test", **preflight}
    )
    refused = cors_api.request(
        "OPTIONS", "/clients", headers={"Origin": "https://evil.example", **preflight}
    )

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.test"
    assert "access-control-allow-origin" not in refused.headers


def test_no_origin_is_allowed_by_default(api):
    answer = api.request(
        "OPTIONS",
        "/clients",
        headers={"Origin": "https://app.example.test", "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in answer.headers


def test_a_write_retried_with_its_idempotency_key_is_done_once(api, token, pg):
    headers = {"Idempotency-Key": "create-ann-1"}

    first = api.request(
        "POST", "/clients", token=token, json={"first_name": "Ann"}, headers=headers
    )
    again = api.request(
        "POST", "/clients", token=token, json={"first_name": "Ann"}, headers=headers
    )

    assert (first.status_code, again.json()["id"]) == (201, first.json()["id"])
    assert pg.admin.execute("select count(*) from clients").fetchone()[0] == 1

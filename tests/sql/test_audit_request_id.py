"""Every audit entry names the request that caused it (x-request-id in request.headers)."""

from __future__ import annotations

import json

import pytest

from tests.sql.conftest import NOW, count, hours, make_client, raises_sql, scalar


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def client_request_ids(pg) -> list[str | None]:
    rows = pg.admin.execute(
        "select request_id from audit_log where table_name = 'clients' order by id"
    ).fetchall()
    return [r[0] for r in rows]


def test_the_request_id_header_lands_in_the_entry(pg, coach):
    with pg.as_coach(coach, headers={"X-Request-Id": "req-123"}) as c:
        client = c.execute(
            "insert into clients (first_name) values ('Ann') returning id"
        ).fetchone()[0]
        c.execute("update clients set first_name = 'Anna' where id = %s", (client,))
        c.execute("delete from clients where id = %s", (client,))
    assert client_request_ids(pg) == ["req-123", "req-123", "req-123"]


def test_every_entry_of_an_rpc_call_carries_its_request_id(pg, coach):
    client = make_client(pg, coach)
    with pg.as_coach(coach, headers={"x-request-id": "req-rpc"}) as c:
        c.execute(
            "select public.create_lesson_with_participants("
            "p_client_ids => %s, p_start_time => %s, p_end_time => %s, p_price_cents => 5000)",
            ([client], NOW + hours(5), NOW + hours(6)),
        )
    rows = pg.admin.execute(
        "select table_name, request_id from audit_log"
        " where table_name in ('lessons', 'lesson_participants')"
    ).fetchall()
    assert {r[0] for r in rows} == {"lessons", "lesson_participants"}
    assert {r[1] for r in rows} == {"req-rpc"}


def test_service_role_writes_carry_the_request_id(pg, coach):
    with pg.as_service(headers={"X-Request-Id": "req-svc"}) as c:
        c.execute("insert into clients (coach_id, first_name) values (%s, 'Bob')", (coach.id,))
    assert client_request_ids(pg) == ["req-svc"]


def test_no_request_id_header_gives_null(pg, coach):
    with pg.as_coach(coach, headers={"x-other": "1"}) as c:
        c.execute("insert into clients (first_name) values ('Ann')")
    with pg.as_coach(coach) as c:
        c.execute("insert into clients (first_name) values ('Bob')")
    assert client_request_ids(pg) == [None, None]


def test_writes_outside_any_request_give_null(pg, coach):
    # sign-up (Supabase Auth, no request.headers at all) and the superuser
    make_client(pg, coach)
    assert (
        scalar(
            pg,
            "select request_id from audit_log where table_name = 'coaches' and coach_id = %s",
            coach.id,
        )
        is None
    )
    assert client_request_ids(pg) == [None]


MALFORMED_HEADERS = [
    "not json",
    "{",
    "",
    "null",
    "[1, 2]",
    '"x-request-id"',
    '{"x-request-id": 42}',
    '{"x-request-id": true}',
    '{"x-request-id": null}',
    '{"x-request-id": ["req-1"]}',
    '{"x-request-id": {"id": "req-1"}}',
    '{"x-request-id": ""}',
    '{"x-request-id": "\\u0000"}',
    '{"x-request-id": "\\ud800"}',
]


@pytest.mark.parametrize("headers", MALFORMED_HEADERS)
def test_unusable_headers_never_fail_the_write(pg, coach, headers):
    with pg.as_coach(coach) as c:
        c.execute("select set_config('request.headers', %s, true)", (headers,))
        c.execute("insert into clients (first_name) values ('Ann')")
    assert client_request_ids(pg) == [None]
    assert count(pg, "clients", "coach_id = %s", coach.id) == 1


def test_malformed_headers_with_malformed_claims_never_fail_the_write(pg, coach):
    with pg.as_service() as c:
        c.execute("select set_config('request.jwt.claims', 'not json', true)")
        c.execute("select set_config('request.headers', 'not json', true)")
        c.execute("insert into clients (coach_id, first_name) values (%s, 'Eve')", (coach.id,))
    row = pg.admin.execute(
        "select actor_id, actor_role, request_id from audit_log where table_name = 'clients'"
    ).fetchone()
    assert row == (None, "service_role", None)


def test_an_over_long_request_id_is_cut_to_200_characters(pg, coach):
    with pg.as_coach(coach, headers={"X-Request-Id": "r" * 100_000}) as c:
        c.execute("insert into clients (first_name) values ('Ann')")
    with pg.as_coach(coach, headers={"X-Request-Id": "é" * 201}) as c:
        c.execute("insert into clients (first_name) values ('Bob')")
    with pg.as_coach(coach, headers={"X-Request-Id": "x" * 200}) as c:
        c.execute("insert into clients (first_name) values ('Cid')")
    assert client_request_ids(pg) == ["r" * 200, "é" * 200, "x" * 200]


def test_the_id_is_stored_verbatim(pg, coach):
    odd = "req \"'; drop table audit_log; --\n\t✓"
    with pg.as_coach(coach) as c:
        c.execute(
            "select set_config('request.headers', %s, true)",
            (json.dumps({"x-request-id": odd, "X-Request-Id": "upper-is-not-read"}),),
        )
        c.execute("insert into clients (first_name) values ('Ann')")
    assert client_request_ids(pg) == [odd]


def test_the_column_is_bounded_even_for_the_owner(pg, coach):
    with raises_sql("23514"):
        pg.admin.execute(
            "insert into audit_log (actor_role, action, table_name, request_id)"
            " values ('x', 'INSERT', 'x', repeat('r', 201))"
        )
    assert count(pg, "audit_log", "table_name = 'x'") == 0


def test_coach_can_not_forge_or_alter_a_request_id(pg, coach):
    with pg.as_coach(coach, headers={"X-Request-Id": "req-real"}) as c:
        c.execute("insert into clients (first_name) values ('Ann')")
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into audit_log (coach_id, actor_role, action, table_name, request_id)"
            " values (%s, 'x', 'INSERT', 'x', 'req-forged')",
            (coach.id,),
        )
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("update audit_log set request_id = 'req-forged'")
    assert count(pg, "audit_log", "request_id = 'req-forged'") == 0
    assert client_request_ids(pg) == ["req-real"]


def test_the_audit_trigger_keeps_its_safety_properties(pg):
    row = pg.admin.execute(
        "select prosecdef, proconfig from pg_proc"
        " where oid = 'private.write_audit_log()'::regprocedure"
    ).fetchone()
    assert row == (True, ["search_path=pg_catalog, pg_temp"])
    for role in ("anon", "authenticated", "service_role"):
        assert not scalar(
            pg, "select has_function_privilege(%s, 'private.write_audit_log()', 'execute')", role
        ), role

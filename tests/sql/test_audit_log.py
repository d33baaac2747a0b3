"""The audit trail: who did what, readable by its coach, append-only for everyone."""

from __future__ import annotations

import json

import pytest

from tests.sql.conftest import NOW, book, count, hours, make_client, raises_sql, scalar

AUDITED = [
    "coaches",
    "clients",
    "lesson_types",
    "recurring_lessons",
    "lessons",
    "lesson_participants",
    "payments",
]


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def test_insert_update_delete_are_recorded_with_the_actor(pg, coach):
    with pg.as_coach(coach) as c:
        client = c.execute(
            "insert into clients (first_name) values ('Ann') returning id"
        ).fetchone()[0]
        c.execute("update clients set first_name = 'Anna' where id = %s", (client,))
        c.execute("delete from clients where id = %s", (client,))
    rows = pg.admin.execute(
        "select action::text, coach_id, actor_id, actor_role, old_data ->> 'first_name',"
        " new_data ->> 'first_name'"
        " from audit_log where table_name = 'clients' and record_id = %s order by id",
        (str(client),),
    ).fetchall()
    assert rows == [
        ("INSERT", coach.id, coach.id, "authenticated", None, "Ann"),
        ("UPDATE", coach.id, coach.id, "authenticated", "Ann", "Anna"),
        ("DELETE", coach.id, coach.id, "authenticated", "Anna", None),
    ]


def test_service_role_writes_are_recorded_without_a_user(pg, coach):
    with pg.as_service() as c:
        c.execute("insert into clients (coach_id, first_name) values (%s, 'Bob')", (coach.id,))
    row = pg.admin.execute(
        "select actor_id, actor_role, coach_id from audit_log where table_name = 'clients'"
    ).fetchone()
    assert row == (None, "service_role", coach.id)


def test_sign_up_is_recorded_for_the_new_coach(pg, coach):
    assert (
        count(
            pg,
            "audit_log",
            "table_name = 'coaches' and action = 'INSERT' and coach_id = %s",
            coach.id,
        )
        == 1
    )


def test_every_business_table_has_the_audit_trigger(pg):
    for table in AUDITED:
        assert (
            scalar(
                pg,
                "select count(*) from pg_trigger where tgrelid = %s::regclass"
                " and tgfoid = 'private.write_audit_log()'::regprocedure",
                f"public.{table}",
            )
            == 1
        ), table


def test_coach_reads_only_own_audit_entries(pg, coach):
    other = pg.sign_up()
    make_client(pg, other)
    make_client(pg, coach)
    with pg.as_coach(coach) as c:
        coach_ids = {r[0] for r in c.execute("select coach_id from audit_log").fetchall()}
    assert coach_ids == {coach.id}


def test_coach_can_not_write_audit_entries(pg, coach):
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into audit_log (coach_id, actor_role, action, table_name) values (%s,"
            " 'x', 'INSERT', 'x')",
            (coach.id,),
        )
    assert count(pg, "audit_log", "table_name = 'x'") == 0


CHANGES = [
    "update audit_log set actor_role = 'nobody'",
    "delete from audit_log",
    "truncate audit_log",
]


def test_audit_log_is_append_only_for_service_role(pg, coach):
    before = count(pg, "audit_log")
    for statement in CHANGES:
        with raises_sql("42501"), pg.as_service() as c:
            c.execute(statement)
        assert count(pg, "audit_log") == before, statement
    assert count(pg, "audit_log", "actor_role = 'nobody'") == 0


def test_audit_log_is_append_only_for_coaches(pg, coach):
    before = count(pg, "audit_log")
    for statement in CHANGES:
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(statement)
        assert count(pg, "audit_log") == before, statement


def test_audit_log_is_append_only_even_for_its_owner(pg, coach):
    before = count(pg, "audit_log")
    for statement in CHANGES:
        with raises_sql("42501", "audit_log_append_only"):
            pg.admin.execute(statement)
        assert count(pg, "audit_log") == before, statement


def test_audit_survives_malformed_claims(pg, coach):
    with pg.as_service() as c:
        c.execute(
            "select set_config('request.jwt.claims', %s, true)",
            (json.dumps({"role": "service_role", "sub": "not-a-uuid"}),),
        )
        c.execute("insert into clients (coach_id, first_name) values (%s, 'Eve')", (coach.id,))
    assert scalar(pg, "select actor_id from audit_log where table_name = 'clients'") is None


def test_audit_survives_unusual_row_content(pg, coach):
    with pg.as_coach(coach) as c:
        c.execute(
            "insert into clients (first_name, notes) values ('Zoë \"; drop', %s)",
            ("\\u0000 {}" * 1000,),
        )
    assert count(pg, "audit_log", "table_name = 'clients'") == 1


def test_rpc_writes_are_audited_as_the_coach(pg, coach):
    book(pg, coach, [make_client(pg, coach)], NOW + hours(5))
    assert scalar(
        pg,
        "select array_agg(distinct actor_id) from audit_log where table_name in ('lessons',"
        " 'lesson_participants')",
    ) == [coach.id]


def test_audit_trigger_function_can_not_be_called_through_the_api(pg, coach):
    for role in ("anon", "authenticated", "service_role"):
        assert not scalar(
            pg, "select has_function_privilege(%s, 'private.write_audit_log()', 'execute')", role
        ), role
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("select private.write_audit_log()")

"""Row level security, grants and sign-up: who can see and change what."""

from __future__ import annotations

import uuid

from backend.db.impersonation import Principal
from tests.sql.conftest import (
    NOW,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    raises_sql,
    scalar,
)

BUSINESS_TABLES = [
    "coaches",
    "clients",
    "lesson_types",
    "recurring_lessons",
    "lessons",
    "lesson_participants",
    "payments",
    "audit_log",
    "stripe_events",
]
COACH_TABLES = ["clients", "lesson_types", "lessons", "lesson_participants", "payments"]
VIEWS = ["client_balances", "coach_dashboard", "lesson_history"]


def _two_coaches_with_data(pg):
    a, b = pg.sign_up(), pg.sign_up()
    for coach in (a, b):
        client = make_client(pg, coach)
        make_lesson_type(pg, coach)
        lesson = book(pg, coach, [client], NOW - hours(3))
        pid = scalar(pg, "select id from lesson_participants where lesson_id = %s", lesson["id"])
        with pg.as_coach(coach) as c:
            c.execute(
                "select record_payment(p_client_id => %s, p_participant_ids => %s, p_method"
                " => 'cash')",
                (client, [pid]),
            )
    return a, b


# Sign-up


def test_sign_up_creates_the_coach_row(pg):
    coach = pg.sign_up(email="ann@example.test", full_name="Ann Coach")
    row = pg.admin.execute(
        "select email, full_name from coaches where id = %s", (coach.id,)
    ).fetchone()
    assert row == ("ann@example.test", "Ann Coach")


def test_changed_auth_email_follows_to_the_coach_row(pg):
    coach = pg.sign_up()
    pg.admin.execute("update auth.users set email = 'new@example.test' where id = %s", (coach.id,))
    assert scalar(pg, "select email from coaches where id = %s", coach.id) == "new@example.test"


def test_deleting_the_auth_user_deletes_the_coach_and_its_data(pg):
    a, b = _two_coaches_with_data(pg)
    pg.admin.execute("delete from auth.users where id = %s", (a.id,))
    for table in ["coaches", "clients", "lessons", "lesson_participants", "payments"]:
        column = "id" if table == "coaches" else "coach_id"
        assert count(pg, table, f"{column} = %s", a.id) == 0
        assert count(pg, table, f"{column} = %s", b.id) == 1


def test_sign_up_trigger_function_is_not_executable_through_the_api(pg):
    for role in ("anon", "authenticated", "service_role"):
        assert not scalar(
            pg, "select has_function_privilege(%s, 'private.handle_new_user()', 'execute')", role
        ), role
        assert not scalar(pg, "select has_schema_privilege(%s, 'private', 'create')", role), role
    with raises_sql("42501"), pg.as_coach(pg.sign_up()) as c:
        c.execute("select private.handle_new_user()")


def test_sign_up_trigger_function_is_definer_with_pg_temp_last(pg):
    row = pg.admin.execute(
        "select prosecdef, proconfig from pg_proc where oid ="
        " 'private.handle_new_user()'::regprocedure"
    ).fetchone()
    # not '': an empty search_path still searches pg_temp first for types
    assert row == (True, ["search_path=pg_catalog, pg_temp"])


# Isolation between coaches


def test_coach_sees_only_own_rows(pg):
    a, _b = _two_coaches_with_data(pg)
    with pg.as_coach(a) as c:
        for table in [*COACH_TABLES, "audit_log", *VIEWS]:
            coach_ids = {r[0] for r in c.execute(f"select coach_id from {table}").fetchall()}
            assert coach_ids == {a.id}, table


def test_coach_reads_only_own_coach_row(pg):
    a, _b = pg.sign_up(), pg.sign_up()
    with pg.as_coach(a) as c:
        assert [r[0] for r in c.execute("select id from coaches").fetchall()] == [a.id]


def test_coach_can_not_update_or_delete_rows_of_another_coach(pg):
    a, b = _two_coaches_with_data(pg)
    # a column the coach may update on its own rows (charges: attended and price only)
    assignments = {
        "lesson_participants": "attended = true",
        "lessons": "notes = 'x'",
        "lesson_types": "description = 'x'",
        "clients": "notes = 'x'",
    }
    tables = list(assignments)
    with pg.as_coach(a) as c:
        for table in tables:
            changed = c.execute(
                f"update {table} set {assignments[table]} where coach_id = %s", (b.id,)
            )
            assert changed.rowcount == 0, table
            assert c.execute(f"delete from {table} where coach_id = %s", (b.id,)).rowcount == 0, (
                table
            )
    for table in tables:
        assert count(pg, table, "coach_id = %s", b.id) == 1, table


def test_coach_can_not_create_a_client_for_another_coach(pg):
    a, b = pg.sign_up(), pg.sign_up()
    with raises_sql("42501"), pg.as_coach(a) as c:
        c.execute("insert into clients (coach_id, first_name) values (%s, 'Mallory')", (b.id,))
    assert count(pg, "clients") == 0


def test_coach_can_not_create_a_lesson_for_another_coach(pg):
    a, b = pg.sign_up(), pg.sign_up()
    with raises_sql("42501"), pg.as_coach(a) as c:
        c.execute(
            "insert into lessons (coach_id, start_time, end_time) values (%s, %s, %s)",
            (b.id, NOW, NOW + hours(1)),
        )
    assert count(pg, "lessons") == 0


def test_coach_can_not_move_a_row_to_another_coach(pg):
    a, b = _two_coaches_with_data(pg)
    for table in ["clients", "lessons", "lesson_types", "lesson_participants", "payments"]:
        with raises_sql("42501"), pg.as_coach(a) as c:
            c.execute(f"update {table} set coach_id = %s", (b.id,))
        assert count(pg, table, "coach_id = %s", a.id) == 1, table


def test_coach_can_not_set_own_stripe_account(pg):
    a = pg.sign_up()
    with raises_sql("42501"), pg.as_coach(a) as c:
        c.execute("update coaches set stripe_account_id = 'acct_evil'")
    assert scalar(pg, "select stripe_account_id from coaches where id = %s", a.id) is None


def test_coach_updates_own_profile(pg):
    a, _b = pg.sign_up(), pg.sign_up()
    with pg.as_coach(a) as c:
        assert c.execute("update coaches set business_name = 'Aces'").rowcount == 1
    assert scalar(pg, "select count(*) from coaches where business_name = 'Aces'") == 1


def test_coach_can_not_delete_payments(pg):
    a, _ = _two_coaches_with_data(pg)
    with raises_sql("42501"), pg.as_coach(a) as c:
        c.execute("delete from payments")
    assert count(pg, "payments") == 2


def test_user_without_sub_sees_nothing(pg):
    _two_coaches_with_data(pg)
    with pg.acting_as(Principal("authenticated", {"role": "authenticated"})) as c:
        assert c.execute("select count(*) from clients").fetchone()[0] == 0


# anon: nothing at all


def test_anon_holds_no_privilege_on_tables_and_views(pg):
    privileges = "select, insert, update, delete, truncate, references, trigger"
    for relation in BUSINESS_TABLES + VIEWS:
        assert not scalar(
            pg, "select has_table_privilege('anon', %s, %s)", f"public.{relation}", privileges
        ), relation
    assert not scalar(pg, "select has_schema_privilege('anon', 'private', 'usage')")


def test_anon_can_execute_no_function_of_the_api(pg):
    executable = pg.admin.execute(
        "select p.oid::regprocedure::text from pg_proc p"
        " where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)"
        " and has_function_privilege('anon', p.oid, 'execute')"
    ).fetchall()
    assert executable == []


def test_anon_reading_clients_is_refused(pg):
    _two_coaches_with_data(pg)
    with raises_sql("42501"), pg.as_anon() as c:
        c.execute("select * from clients")


def test_anon_calling_an_rpc_is_refused(pg):
    with raises_sql("42501"), pg.as_anon() as c:
        c.execute("select cancel_lesson(%s)", (uuid.uuid4(),))


# service_role and stripe_events


def test_service_role_sees_every_coach(pg):
    _two_coaches_with_data(pg)
    with pg.as_service() as c:
        assert c.execute("select count(distinct coach_id) from clients").fetchone()[0] == 2
        assert c.execute("select count(*) from coach_dashboard").fetchone()[0] == 2


def test_stripe_events_are_service_only(pg):
    coach = pg.sign_up()
    with pg.as_service() as c:
        c.execute(
            "insert into stripe_events (id, type) values ('evt_1', 'checkout.session.completed')"
        )
    for role in ("authenticated", "anon"):
        assert not scalar(
            pg,
            "select has_table_privilege(%s, 'public.stripe_events', 'select, insert, update,"
            " delete')",
            role,
        )
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("select * from stripe_events")


# The shape of the policies (what the Supabase linter checks)


def test_rls_is_enabled_on_every_public_table(pg):
    off = pg.admin.execute(
        "select relname from pg_class where relnamespace = 'public'::regnamespace"
        " and relkind in ('r', 'p') and not relrowsecurity"
    ).fetchall()
    assert off == []


def test_policies_are_for_authenticated_only_and_call_auth_uid_once_per_statement(pg):
    for name, roles, qual, check in pg.admin.execute(
        "select policyname, roles, qual, with_check from pg_policies where schemaname = 'public'"
    ):
        assert roles == ["authenticated"], name
        for expr in (qual, check):
            if expr is not None:
                assert "( SELECT auth.uid() AS uid)" in expr, (name, expr)
                assert expr.count("auth.uid()") == expr.count("SELECT auth.uid()"), (name, expr)


def test_insert_and_update_policies_have_a_with_check_bound_to_the_coach(pg):
    rows = pg.admin.execute(
        "select policyname, tablename, with_check from pg_policies"
        " where schemaname = 'public' and cmd in ('INSERT', 'UPDATE')"
    ).fetchall()
    assert len(rows) >= 12
    for name, table, check in rows:
        column = "id" if table == "coaches" else "coach_id"
        assert check == f"({column} = ( SELECT auth.uid() AS uid))", name


def test_one_permissive_policy_per_table_role_and_command(pg):
    duplicates = pg.admin.execute(
        "select tablename, cmd, count(*) from pg_policies, unnest(roles) as r"
        " where schemaname = 'public' and permissive = 'PERMISSIVE'"
        " group by tablename, r, cmd having count(*) > 1"
    ).fetchall()
    assert duplicates == []


def test_views_are_security_invoker(pg):
    for view in VIEWS:
        options = scalar(
            pg, "select reloptions from pg_class where oid = %s::regclass", f"public.{view}"
        )
        assert "security_invoker=true" in options, view

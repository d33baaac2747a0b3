"""Function hygiene: fixed search_path, invoker by default, EXECUTE only where needed."""

from __future__ import annotations

RPC_FUNCTIONS = {
    "create_lesson_with_participants",
    "update_lesson",
    "cancel_lesson",
    "complete_lesson",
    "create_recurring_lessons",
    "cancel_recurring_lessons",
    "record_payment",
    "create_stripe_checkout_payment",
    "settle_stripe_checkout",
}
# Every SECURITY DEFINER function, with the reason it needs to be one (see the migrations).
DEFINER_FUNCTIONS = {
    "private.handle_new_user()",  # Supabase Auth inserts users but holds no privilege on coaches
    "private.write_audit_log()",  # audit_log accepts inserts from its owner only
    # coaches hold no privilege on private.lesson_capacity_claims
    "private.enforce_lesson_capacity()",
    "private.enforce_type_capacity()",
    # coaches hold no UPDATE on lesson_participants.payment_status
    "private.waive_charges_of_cancelled_lesson()",
    # coaches hold no INSERT on payments: record_payment's write half (a trigger)
    "private.record_requested_payment()",
    # coaches hold no UPDATE on lesson_participants.lesson_start_time
    "private.move_charges_with_lesson()",
    # no API role holds any privilege on private.rate_limit_windows
    "private.count_rate_limited_write()",
}


def test_every_function_of_the_contract_exists(pg):
    names = {
        r[0]
        for r in pg.admin.execute(
            "select proname from pg_proc where pronamespace = 'public'::regnamespace"
        )
    }
    assert names >= RPC_FUNCTIONS


def test_every_function_fixes_its_search_path(pg):
    mutable = pg.admin.execute(
        "select p.oid::regprocedure::text from pg_proc p"
        " where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)"
        " and not exists (select from unnest(coalesce(p.proconfig, '{}')) c where c like"
        " 'search_path=%%')"
    ).fetchall()
    assert mutable == []


def test_only_the_documented_functions_are_security_definer(pg):
    definers = {
        r[0]
        for r in pg.admin.execute(
            "select p.oid::regprocedure::text from pg_proc p where p.prosecdef"
            " and p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)"
        )
    }
    assert definers == DEFINER_FUNCTIONS


def test_no_security_definer_function_is_executable_by_an_api_role(pg):
    executable = pg.admin.execute(
        "select p.oid::regprocedure::text, r from pg_proc p, unnest(array['anon',"
        " 'authenticated', 'service_role']) r"
        " where p.prosecdef and p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)"
        " and has_function_privilege(r, p.oid, 'execute')"
    ).fetchall()
    assert executable == []


def test_every_function_searches_pg_catalog_first_and_pg_temp_last(pg):
    # search_path '' is not empty: pg_temp is searched first for types and relations
    others = pg.admin.execute(
        "select p.oid::regprocedure::text, p.proconfig from pg_proc p"
        " where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)"
        " and p.proconfig is distinct from array['search_path=pg_catalog, pg_temp']"
    ).fetchall()
    assert others == []


def test_security_definer_bodies_name_no_unqualified_type(pg):
    # a bare type name in a definer's body would still be resolved by name
    bare = r"(::|\s)(uuid|jsonb|text|timestamptz|int8|int4|numeric)(\[\])?(\s|;|,|\)|$)"
    rows = pg.admin.execute(
        "select p.oid::regprocedure::text, m[2] from pg_proc p,"
        " regexp_matches(p.prosrc, %s, 'g') m"
        " where p.prosecdef and p.pronamespace = 'private'::regnamespace",
        (bare,),
    ).fetchall()
    assert rows == []


def test_public_is_not_granted_execute_on_any_function(pg):
    granted = pg.admin.execute(
        "select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl,"
        " acldefault('f', p.proowner))) a"
        " where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace) and"
        " a.grantee = 0"
    ).fetchall()
    assert granted == []


def test_coach_functions_are_executable_by_authenticated(pg):
    for name in RPC_FUNCTIONS - {"create_stripe_checkout_payment", "settle_stripe_checkout"}:
        assert pg.admin.execute(
            "select bool_and(has_function_privilege('authenticated', oid, 'execute')) from pg_proc"
            " where proname = %s and pronamespace = 'public'::regnamespace",
            (name,),
        ).fetchone()[0], name

"""Attacks through the API roles (anon, a signed-in coach), each refused.

Every test runs one attack, expects the refusal and checks that nothing was
written; among them the attacks on the SECURITY DEFINER functions of
migrations 20261125000800-20261125000840 (pg_temp types, forged payments,
payment columns, capacity races, hostile input).
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from backend.db.connect import connect
from backend.db.impersonation import impersonate
from tests.sql.conftest import (
    NOW,
    Session,
    book,
    count,
    hours,
    make_client,
    make_lesson_type,
    participant_ids,
    raises_sql,
    rpc_one,
    run_in_thread,
    scalar,
    wait_until_blocked,
)


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def _charge(pg, coach, client, hours_ago=3, price_cents=4000):
    lesson = book(pg, coach, [client], NOW - hours(hours_ago), price_cents=price_cents)
    return participant_ids(pg, lesson["id"])[0]


def _victim(pg):
    """Coach B with a client, a lesson type, a billable charge paid in cash and a series."""
    b = pg.sign_up()
    client = make_client(pg, b, "Victim")
    lesson_type = make_lesson_type(pg, b, max_participants=3)
    charge = _charge(pg, b, client)
    with pg.as_coach(b) as c:
        payment = rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )
    return b, client, lesson_type, charge, payment["id"]


def _audit_size(pg):
    return count(pg, "audit_log")


# (a) Attacks that are refused


def test_coach_cannot_create_objects_in_the_schemas_functions_resolve_in(pg, coach):
    for role in ("anon", "authenticated"):
        for schema in ("public", "private", "extensions", "auth"):
            assert not scalar(pg, "select has_schema_privilege(%s, %s, 'create')", role, schema), (
                role,
                schema,
            )
    for statement in (
        "create table public.clients_shadow (id uuid)",
        "create function public.uid() returns uuid language sql as 'select null::uuid'",
        "create view public.everything as select 1 as x",
    ):
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(statement)
    assert (
        scalar(
            pg,
            "select count(*) from pg_class where relname in ('clients_shadow', 'everything')"
            " and relnamespace = 'public'::regnamespace",
        )
        == 0
    )
    assert (
        scalar(
            pg,
            "select count(*) from pg_proc where proname = 'uid'"
            " and pronamespace = 'public'::regnamespace",
        )
        == 0
    )


def test_coach_cannot_read_or_write_auth_users(pg, coach):
    before = scalar(pg, "select count(*) from auth.users")
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("select id, email, raw_user_meta_data from auth.users")
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute('update auth.users set raw_user_meta_data = \'{"full_name": "x"}\'')
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("insert into auth.users (id, email) values (gen_random_uuid(), 'x@example.test')")
    with raises_sql("42501"), pg.as_anon() as c:
        c.execute("select id from auth.users")
    assert scalar(pg, "select count(*) from auth.users") == before
    assert count(pg, "coaches") == before


def test_coach_cannot_use_private_helpers_on_another_coachs_rows(pg, coach):
    b, b_client, b_type, b_charge, _ = _victim(pg)
    unpaid_b_charge = _charge(pg, b, b_client, hours_ago=6)
    audit = _audit_size(pg)
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        c.execute(
            "select private.lock_payable_charges(%s, %s, %s)", (b.id, b_client, [unpaid_b_charge])
        )
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        c.execute("select private.require_own_clients(%s, %s)", (b.id, [b_client]))
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        c.execute("select private.require_active_lesson_type(%s, %s)", (b.id, b_type))
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        lesson = scalar(pg, "select lesson_id from lesson_participants where id = %s", b_charge)
        c.execute("select private.lock_scheduled_lesson(%s, %s)", (b.id, lesson))
    assert _audit_size(pg) == audit
    assert (
        scalar(pg, "select payment_status from lesson_participants where id = %s", unpaid_b_charge)
        == "unpaid"
    )


def test_anon_cannot_call_private_helpers(pg):
    with raises_sql("42501"), pg.as_anon() as c:
        c.execute("select private.is_time_zone('UTC')")
    with raises_sql("42501"), pg.as_anon() as c:
        c.execute("select private.require_coach_id()")


def test_coach_cannot_upsert_over_another_coachs_client(pg, coach):
    _b, b_client, *_ = _victim(pg)
    audit = _audit_size(pg)
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into clients (id, first_name) values (%s, 'Mallory')"
            " on conflict (id) do update set first_name = excluded.first_name,"
            " notes = 'owned' returning *",
            (b_client,),
        )
    assert scalar(pg, "select first_name from clients where id = %s", b_client) == "Victim"
    assert count(pg, "clients", "coach_id = %s", coach.id) == 0
    assert _audit_size(pg) == audit


def test_coach_cannot_upsert_over_another_coachs_charge(pg, coach):
    b, b_client, *_ = _victim(pg)
    unpaid = _charge(pg, b, b_client, hours_ago=6)
    lesson = scalar(pg, "select lesson_id from lesson_participants where id = %s", unpaid)
    audit = _audit_size(pg)
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into lesson_participants (lesson_id, client_id, price_cents)"
            " values (%s, %s, 0) on conflict (lesson_id, client_id, coach_id)"
            " do update set payment_status = 'waived', price_cents = 0",
            (lesson, b_client),
        )
    assert pg.admin.execute(
        "select payment_status, price_cents from lesson_participants where id = %s", (unpaid,)
    ).fetchone() == ("unpaid", 4000)
    assert _audit_size(pg) == audit


def test_coach_cannot_change_own_id_or_email(pg, coach):
    other = pg.sign_up()
    for assignment, value in (("id", other.id), ("id", uuid.uuid4()), ("email", other.email)):
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(f"update coaches set {assignment} = %s", (value,))
    row = pg.admin.execute("select id, email from coaches where id = %s", (coach.id,)).fetchone()
    assert row == (coach.id, coach.email)


def test_coach_update_or_delete_without_where_touches_only_own_rows(pg, coach):
    b, *_ = _victim(pg)
    make_client(pg, coach)
    with pg.as_coach(coach) as c:
        changed = c.execute("update clients set notes = 'bulk' returning coach_id").fetchall()
        assert changed == [(coach.id,)]
        c.execute("savepoint s")
        gone = c.execute("delete from lesson_participants returning coach_id").fetchall()
        assert gone == []
        c.execute("rollback to savepoint s")
    assert count(pg, "clients", "notes = 'bulk'") == 1
    assert scalar(pg, "select coach_id from clients where notes = 'bulk'") == coach.id
    assert count(pg, "lesson_participants", "coach_id = %s", b.id) == 1


def test_coach_cannot_point_a_charge_at_another_coachs_payment(pg, coach):
    _b, _, _, _, b_payment = _victim(pg)
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with pytest.raises(psycopg.Error) as info, pg.as_coach(coach) as c:
        c.execute(
            "update lesson_participants set payment_status = 'paid', payment_id = %s,"
            " paid_at = now() where id = %s",
            (b_payment, charge),
        )
    assert info.value.sqlstate in ("23503", "42501")
    assert pg.admin.execute(
        "select payment_status, payment_id from lesson_participants where id = %s", (charge,)
    ).fetchone() == ("unpaid", None)


def test_coach_cannot_rewrite_a_recorded_payment(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with pg.as_coach(coach) as c:
        paid = rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )
    for assignment in (
        "amount_cents = 1",
        "status = 'refunded'",
        "credit_cents = 100000",
        "client_id = gen_random_uuid()",
        "stripe_payment_intent_id = 'pi_forged'",
    ):
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(f"update payments set {assignment}")
    row = pg.admin.execute(
        "select amount_cents, status, credit_cents, stripe_payment_intent_id from payments"
        " where id = %s",
        (paid["id"],),
    ).fetchone()
    assert row == (4000, "succeeded", 0, None)


def test_coach_cannot_book_with_another_coachs_lesson_type(pg, coach):
    _b, _, b_type, _, _ = _victim(pg)
    client = make_client(pg, coach)
    lessons = count(pg, "lessons")
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        rpc_one(
            c,
            "create_lesson_with_participants",
            p_client_ids=[client],
            p_start_time=NOW + hours(10),
            p_lesson_type_id=b_type,
        )
    with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
        c.execute(
            "select * from create_recurring_lessons(p_client_ids => %s, p_first_start_time"
            " => %s, p_duration_minutes => 60, p_frequency => 'weekly', p_occurrences => 3,"
            " p_lesson_type_id => %s)",
            ([client], NOW + hours(30), b_type),
        )
    assert count(pg, "lessons") == lessons
    assert count(pg, "recurring_lessons") == 0


@pytest.mark.parametrize(
    ("ids", "state"),
    [
        ("{}", "CB002"),
        ("{NULL}", "CB002"),
        ("dup", "CB002"),
        ("huge", "CB001"),
        ("mixed", "CB001"),
    ],
)
def test_coach_cannot_pay_with_hostile_id_lists(pg, coach, ids, state):
    b, b_client, _, _, _ = _victim(pg)
    b_unpaid = _charge(pg, b, b_client, hours_ago=6)
    client = make_client(pg, coach)
    mine = _charge(pg, coach, client)
    lists = {
        "{}": [],
        "{NULL}": [None],
        "dup": [mine, mine],
        "huge": [mine, *(uuid.uuid4() for _ in range(20000))],
        "mixed": [mine, b_unpaid],
    }
    payments = count(pg, "payments")
    with raises_sql(state), pg.as_coach(coach) as c:
        rpc_one(
            c,
            "record_payment",
            p_client_id=client,
            p_participant_ids=lists[ids],
            p_method="cash",
        )
    assert count(pg, "payments") == payments
    assert count(pg, "lesson_participants", "payment_status = 'paid'") == 1  # B's cash one


@pytest.mark.parametrize("method", ["stripe'; drop table clients; --", "CASH", "", "refund"])
def test_coach_cannot_record_payment_with_a_sql_looking_or_unknown_method(pg, coach, method):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method=method
        )
    assert count(pg, "payments") == 0
    assert count(pg, "clients") == 1


def test_coach_cannot_reach_set_config_through_any_exposed_function_or_view(pg):
    # PostgREST clients can not run SQL: they could only switch identity
    # (request.jwt.claims) through a function or a view that does it for them.
    # The two helpers of idempotent_write run dynamic SQL, but only calls of public
    # functions and writes of public tables, by quoted name, as the caller
    # (tests/sql/test_idempotent_write.py): what PostgREST itself lets a caller do.
    assert (
        scalar(
            pg,
            "select count(*) from pg_proc where pronamespace in"
            " ('public'::regnamespace, 'private'::regnamespace)"
            " and (prosrc ilike '%%set_config%%' or (prosrc ilike '%%execute %%'"
            " and oid not in ('private.call_function(text, jsonb)'::regprocedure,"
            " 'private.write_rows(text, text, jsonb, jsonb)'::regprocedure)))",
        )
        == 0
    )
    assert (
        scalar(
            pg,
            "select count(*) from pg_views where schemaname = 'public'"
            " and definition ilike '%%set_config%%'",
        )
        == 0
    )
    # and no claim a user can edit (user_metadata) decides anything
    assert (
        scalar(
            pg,
            "select count(*) from pg_proc where pronamespace in"
            " ('public'::regnamespace, 'private'::regnamespace)"
            " and (prosrc ilike '%%user_metadata%%' or prosrc ilike '%%auth.jwt()%%')"
            " and proname <> 'handle_new_user'",
        )
        == 0
    )


def test_coach_role_cannot_bypass_rls_or_gain_role_attributes(pg):
    row = pg.admin.execute(
        "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles"
        " where rolname = 'authenticated'"
    ).fetchone()
    assert row == (False, False, False, False)


# (b) Attacks on payment columns, definer functions, capacity and input: each expects the
# refusal and checks that nothing was written.


_TROJAN_TYPES = ("uuid", "text", "jsonb", "timestamptz")


def _plant_trojan_types(c):
    """pg_temp domains named like the types the definer functions use; their check runs
    the coach's own function, which writes a forged audit entry when it runs as someone else."""
    c.execute(
        "create function pg_temp.evil() returns boolean"
        " language plpgsql as $f$ begin"
        " if current_user <> 'authenticated' then"
        "   insert into public.audit_log (actor_role, action, table_name, record_id)"
        "   values ('forged', 'DELETE', 'forged', current_user);"
        " end if; return true; end $f$"
    )
    for name in _TROJAN_TYPES:
        c.execute(f"create domain pg_temp.{name} as pg_catalog.{name} check (pg_temp.evil())")


def test_coach_cannot_run_code_as_the_audit_trigger_owner(pg, coach):
    with pg.as_coach(coach) as c:
        c.execute(
            "create function pg_temp.evil(x pg_catalog.uuid) returns boolean"
            " language plpgsql as $f$ begin"
            " if current_user <> 'authenticated' then"
            "   insert into public.audit_log (coach_id, actor_role, action, table_name, record_id)"
            "   values (x, 'forged', 'DELETE', 'forged', current_user);"
            " end if; return true; end $f$"
        )
        c.execute("create domain pg_temp.uuid as pg_catalog.uuid check (pg_temp.evil(value))")
        c.execute("insert into clients (first_name) values ('Trojan')")
    assert count(pg, "audit_log", "table_name = 'forged'") == 0
    # the insert itself went through, audited by the real trigger as the coach
    assert count(pg, "audit_log", "table_name = 'clients' and actor_id = %s", coach.id) == 1


def test_no_security_definer_function_runs_a_coachs_temporary_types(pg, coach):
    """Every path into a SECURITY DEFINER function, taken with trojan pg_temp types planted."""
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    lesson_type = make_lesson_type(pg, coach, max_participants=2)
    upcoming = book(pg, coach, [client], NOW + hours(30), lesson_type_id=lesson_type)
    other = make_client(pg, coach, "Bob")
    with pg.as_coach(coach) as c:
        _plant_trojan_types(c)
        c.execute("insert into clients (first_name) values ('Trojan')")  # write_audit_log
        c.execute(  # enforce_lesson_capacity
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            (upcoming["id"], other),
        )
        rpc_one(  # record_requested_payment
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )
        rpc_one(c, "cancel_lesson", p_lesson_id=upcoming["id"])  # waive_charges_of_…
        c.execute("update coaches set full_name = 'Mallory'")
    assert count(pg, "audit_log", "table_name = 'forged'") == 0
    assert count(pg, "lesson_participants", "payment_status = 'waived'") == 2


def test_coach_cannot_block_another_coachs_stripe_settlement(pg, coach):
    b = pg.sign_up()
    b_client = make_client(pg, b)
    b_charge = _charge(pg, b, b_client)
    with pg.as_service() as c:
        c.execute(
            "select create_stripe_checkout_payment(%s, %s, %s, 'cs_victim')",
            (b.id, b_client, [b_charge]),
        )
    client = make_client(pg, coach)
    audit = _audit_size(pg)
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into payments (client_id, amount_cents, method, status,"
            " stripe_payment_intent_id, paid_at)"
            " values (%s, 1, 'stripe', 'succeeded', 'pi_victim', now())",
            (client,),
        )
    assert count(pg, "payments", "coach_id = %s", coach.id) == 0
    assert _audit_size(pg) == audit
    with pg.as_service() as c:
        c.execute("select settle_stripe_checkout('evt_1', 'cs_victim', 'pi_victim', 4000)")
    assert (
        scalar(pg, "select payment_status from lesson_participants where id = %s", b_charge)
        == "paid"
    )


def test_coach_cannot_mark_a_charge_paid_without_paying_it(pg, coach):
    client = make_client(pg, coach)
    small, big = _charge(pg, coach, client, price_cents=1), _charge(pg, coach, client, 6, 90000)
    with pg.as_coach(coach) as c:
        payment = rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[small], p_method="cash"
        )
    audit = _audit_size(pg)
    for assignment in (
        "payment_status = 'paid', payment_id = %(p)s, paid_at = now(), price_cents = 0",
        "payment_status = 'paid'",
        "payment_id = %(p)s",
        "paid_at = now()",
        "payment_status = 'waived'",
    ):
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(
                f"update lesson_participants set {assignment} where id = %(id)s",
                {"p": payment["id"], "id": big},
            )
    assert pg.admin.execute(
        "select payment_status, price_cents, payment_id, paid_at from lesson_participants"
        " where id = %s",
        (big,),
    ).fetchone() == ("unpaid", 90000, None, None)
    assert _audit_size(pg) == audit


def test_coach_cannot_unpay_or_reprice_a_paid_charge(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with pg.as_coach(coach) as c:
        payment = rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )
    audit = _audit_size(pg)
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "update lesson_participants set payment_status = 'unpaid', payment_id = null,"
            " paid_at = null where id = %s",
            (charge,),
        )
    with raises_sql("42501", "charge_locked"), pg.as_coach(coach) as c:
        c.execute("update lesson_participants set price_cents = 1 where id = %s", (charge,))
    # the price of a paid charge is locked for server code too
    with raises_sql("42501", "charge_locked"), pg.as_service() as c:
        c.execute("update lesson_participants set price_cents = 1 where id = %s", (charge,))
    assert pg.admin.execute(
        "select payment_status, price_cents, payment_id from lesson_participants where id = %s",
        (charge,),
    ).fetchone() == ("paid", 4000, payment["id"])
    assert _audit_size(pg) == audit


def test_coach_still_edits_attendance_and_the_price_of_an_unpaid_charge(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with pg.as_coach(coach) as c:
        c.execute(
            "update lesson_participants set attended = false, price_cents = 2500 where id = %s",
            (charge,),
        )
    assert pg.admin.execute(
        "select attended, price_cents from lesson_participants where id = %s", (charge,)
    ).fetchone() == (False, 2500)


def test_coach_cannot_insert_a_charge_that_is_already_paid(pg, coach):
    client, other = make_client(pg, coach), make_client(pg, coach, "Bob")
    charge = _charge(pg, coach, client)
    with pg.as_coach(coach) as c:
        payment = rpc_one(
            c, "record_payment", p_client_id=client, p_participant_ids=[charge], p_method="cash"
        )
    lesson = book(pg, coach, [other], NOW - hours(8))
    for values in (
        "'paid', %(p)s, now()",
        "'unpaid', %(p)s, null",
        "'waived', null, null",
    ):
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(
                "insert into lesson_participants (lesson_id, client_id, payment_status,"
                f" payment_id, paid_at) values (%(l)s, %(c)s, {values})",
                {"l": lesson["id"], "c": client, "p": payment["id"]},
            )
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 1


def test_coach_cannot_forge_a_succeeded_stripe_payment(pg, coach):
    client = make_client(pg, coach)
    audit = _audit_size(pg)
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into payments (client_id, amount_cents, method, status, credit_cents,"
            " stripe_checkout_session_id, paid_at)"
            " values (%s, 99999999, 'stripe', 'succeeded', 99999999, 'cs_forged', now())",
            (client,),
        )
    # not even a modest cash payment: record_payment is the only way in
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute(
            "insert into payments (client_id, amount_cents, method, status, paid_at)"
            " values (%s, 100, 'cash', 'succeeded', now())",
            (client,),
        )
    assert count(pg, "payments") == 0
    assert _audit_size(pg) == audit
    with pg.as_coach(coach) as c:
        dashboard = c.execute("select revenue_30_days_cents from coach_dashboard").fetchone()
    assert dashboard == (0,)


def test_coach_cannot_request_a_payment_of_another_coachs_rows(pg, coach):
    """private.payment_requests is record_payment's write half: a direct insert is untrusted."""
    b, b_client, _, _, _ = _victim(pg)
    b_unpaid = _charge(pg, b, b_client, hours_ago=6)
    client = make_client(pg, coach)
    mine = _charge(pg, coach, client)
    request = (
        "insert into private.payment_requests (client_id, participant_ids, method)"
        " values (%s, %s, 'cash')"
    )
    audit = _audit_size(pg)
    payments = count(pg, "payments")
    for client_id, ids in (
        (b_client, [b_unpaid]),
        (client, [b_unpaid]),
        (client, [mine, b_unpaid]),
        (b_client, [mine]),
    ):
        with raises_sql("CB001", "not_found"), pg.as_coach(coach) as c:
            c.execute(request, (client_id, ids))
    with raises_sql("CB012", "not_authenticated"), pg.as_coach(coach) as c:
        c.execute(
            "select set_config('request.jwt.claim.sub', '', true),"
            " set_config('request.jwt.claims', '', true)"
        )
        c.execute(request, (b_client, [b_unpaid]))
    with raises_sql("42501"), pg.as_anon() as c:
        c.execute(request, (b_client, [b_unpaid]))
    # the payment's id is the database's: a request can not name one
    b_payment = scalar(pg, "select id from payments where coach_id = %s", b.id)
    with raises_sql("42703"), pg.as_coach(coach) as c:
        c.execute(
            "insert into private.payment_requests (payment_id, client_id, participant_ids, method)"
            " values (%s, %s, %s, 'cash')",
            (b_payment, client, [mine]),
        )
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("select * from private.payment_requests")
    assert count(pg, "payments") == payments
    assert _audit_size(pg) == audit
    assert (
        scalar(pg, "select payment_status from lesson_participants where id = %s", b_unpaid)
        == "unpaid"
    )
    # with its own ids, it does exactly what record_payment does, and stores no request
    with pg.as_coach(coach) as c:
        c.execute(request, (client, [mine]))
    assert pg.admin.execute(
        "select amount_cents, status, credit_cents, stripe_checkout_session_id,"
        " stripe_payment_intent_id from payments where coach_id = %s",
        (coach.id,),
    ).fetchall() == [(4000, "succeeded", 0, None, None)]
    assert scalar(pg, "select count(*) from private.payment_requests") == 0


def test_coach_cannot_call_the_definer_trigger_functions(pg, coach):
    for function in (
        "private.write_audit_log()",
        "private.handle_new_user()",
        "private.enforce_lesson_capacity()",
        "private.waive_charges_of_cancelled_lesson()",
        "private.record_requested_payment()",
    ):
        with raises_sql("42501"), pg.as_coach(coach) as c:
            c.execute(f"select {function}")


def test_cancelling_waives_only_the_unpaid_charges_of_the_coachs_own_lesson(pg, coach):
    b, b_client, *_ = _victim(pg)
    b_upcoming = book(pg, b, [b_client], NOW + hours(50))
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    lesson = book(pg, coach, [ann, bob], NOW - hours(3))
    paid, unpaid = (
        scalar(
            pg,
            "select id from lesson_participants where lesson_id = %s and client_id = %s",
            lesson["id"],
            who,
        )
        for who in (ann, bob)
    )
    with pg.as_coach(coach) as c:
        rpc_one(c, "record_payment", p_client_id=ann, p_participant_ids=[paid], p_method="cash")
        # a direct update cancels too, and waives the same way; another coach's lesson is
        # not reachable
        c.execute("update lessons set status = 'cancelled'")
    assert scalar(pg, "select payment_status from lesson_participants where id = %s", paid) == (
        "paid"
    )
    assert (
        scalar(pg, "select payment_status from lesson_participants where id = %s", unpaid)
        == "waived"
    )
    assert (
        count(
            pg,
            "lesson_participants",
            "lesson_id = %s and payment_status = 'unpaid'",
            b_upcoming["id"],
        )
        == 1
    )


def test_coach_cannot_wedge_a_pending_stripe_checkout(pg, coach):
    client = make_client(pg, coach)
    charge, extra = _charge(pg, coach, client), _charge(pg, coach, client, 6)
    with pg.as_service() as c:
        c.execute(
            "select create_stripe_checkout_payment(%s, %s, %s, 'cs_1')",
            (coach.id, client, [charge]),
        )
    payment = scalar(pg, "select id from payments where stripe_checkout_session_id = 'cs_1'")
    with raises_sql("42501"), pg.as_coach(coach) as c:
        c.execute("update lesson_participants set payment_id = %s where id = %s", (payment, extra))
    with raises_sql("42501", "charge_locked"), pg.as_coach(coach) as c:
        c.execute("update lesson_participants set price_cents = 9000 where id = %s", (charge,))
    assert scalar(pg, "select payment_id from lesson_participants where id = %s", extra) is None
    with pg.as_service() as c:
        c.execute("select settle_stripe_checkout('evt_1', 'cs_1', 'pi_1', 4000)")
    assert pg.admin.execute(
        "select status, credit_cents from payments where id = %s", (payment,)
    ).fetchone() == ("succeeded", 0)
    assert count(pg, "lesson_participants", "payment_status = 'paid'") == 1
    assert (
        scalar(pg, "select payment_status from lesson_participants where id = %s", extra)
        == "unpaid"
    )


def test_settlement_never_gives_a_negative_credit(pg, coach):
    # server code (or a bug) attaches a charge to a pending checkout after its creation:
    # the settlement pays what fits, releases the rest and still records the money
    client = make_client(pg, coach)
    charge, extra = _charge(pg, coach, client), _charge(pg, coach, client, 6)
    with pg.as_service() as c:
        c.execute(
            "select create_stripe_checkout_payment(%s, %s, %s, 'cs_1')",
            (coach.id, client, [charge]),
        )
    payment = scalar(pg, "select id from payments where stripe_checkout_session_id = 'cs_1'")
    with pg.as_service() as c:
        c.execute("update lesson_participants set payment_id = %s where id = %s", (payment, extra))
        c.execute("select settle_stripe_checkout('evt_1', 'cs_1', 'pi_1', 4000)")
    assert pg.admin.execute(
        "select status, credit_cents, stripe_payment_intent_id from payments where id = %s",
        (payment,),
    ).fetchone() == ("succeeded", 0, "pi_1")
    rows = pg.admin.execute(
        "select id, payment_status, payment_id from lesson_participants where id = any(%s)",
        ([charge, extra],),
    ).fetchall()
    assert sorted(rows) == sorted([(charge, "paid", payment), (extra, "unpaid", None)])


@pytest.mark.parametrize("zone", ["UTC-3", "EST5", "ABC-3", "+03", "UTC+3", "<-03>3"])
def test_coach_cannot_set_a_posix_offset_time_zone(pg, coach, zone):
    audit = _audit_size(pg)
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute("update coaches set timezone = %s", (zone,))
    assert scalar(pg, "select timezone from coaches where id = %s", coach.id) == "UTC"
    assert _audit_size(pg) == audit


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
def test_coach_can_set_an_iana_time_zone(pg, coach, zone):
    with pg.as_coach(coach) as c:
        c.execute("update coaches set timezone = %s", (zone,))
    assert scalar(pg, "select timezone from coaches where id = %s", coach.id) == zone


def test_time_zone_check_is_cheap_enough(pg):
    elapsed = scalar(
        pg,
        "select extract(epoch from clock_timestamp() - t0) from ("
        " select clock_timestamp() as t0,"
        " (select count(*) from generate_series(1, 20)"
        "  where private.is_time_zone('Europe/Paris')) as n) as s",
    )
    assert elapsed < 2.0  # 20 checks; about 10 ms each (a scan of the zone directory)


def test_coach_cannot_store_megabytes_of_notes(pg, coach):
    client = make_client(pg, coach)
    audit = _audit_size(pg)
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute(
            "update clients set notes = repeat(md5(random()::text), 200000) where id = %s",
            (client,),
        )
    assert scalar(pg, "select notes from clients where id = %s", client) is None
    assert _audit_size(pg) == audit
    with pg.as_coach(coach) as c:
        c.execute("update clients set notes = repeat('x', 10000) where id = %s", (client,))


@pytest.mark.parametrize(
    ("table", "column", "limit"),
    [
        ("clients", "first_name", 200),
        ("clients", "last_name", 200),
        ("clients", "phone", 50),
        ("lesson_types", "name", 200),
        ("lesson_types", "description", 10000),
        ("lessons", "title", 200),
        ("lessons", "location", 500),
        ("lessons", "notes", 10000),
        ("lessons", "cancellation_reason", 1000),
        ("coaches", "full_name", 200),
        ("coaches", "business_name", 200),
    ],
)
def test_free_text_is_bounded(pg, coach, table, column, limit):
    client = make_client(pg, coach)
    make_lesson_type(pg, coach)
    book(pg, coach, [client], NOW + hours(70))
    with pg.as_coach(coach) as c:
        c.execute(f"update {table} set {column} = repeat('x', %s)", (limit,))
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute(f"update {table} set {column} = repeat('x', %s)", (limit + 1,))


def test_payment_note_is_bounded(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with raises_sql("23514"), pg.as_coach(coach) as c:
        rpc_one(
            c,
            "record_payment",
            p_client_id=client,
            p_participant_ids=[charge],
            p_method="cash",
            p_note="x" * 1001,
        )
    assert count(pg, "payments") == 0


@pytest.mark.parametrize(
    "ids", ["('[2:2]={' || %(c)s || '}')::uuid[]", "array[array[%(c)s::uuid]]"]
)
def test_coach_cannot_book_a_single_lesson_without_its_client(pg, coach, ids):
    client = make_client(pg, coach)
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        c.execute(
            f"select create_lesson_with_participants(p_client_ids => {ids},"
            " p_start_time => %(s)s, p_end_time => %(e)s)",
            {"c": str(client), "s": NOW + hours(5), "e": NOW + hours(6)},
        )
    assert count(pg, "lessons") == 0
    assert count(pg, "lesson_participants") == 0


def test_coach_cannot_pay_with_an_id_list_that_does_not_start_at_one(pg, coach):
    client = make_client(pg, coach)
    charge = _charge(pg, coach, client)
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        c.execute(
            "select record_payment(%s, ('[0:0]={' || %s || '}')::uuid[], 'cash')",
            (client, str(charge)),
        )
    assert count(pg, "payments") == 0


@pytest.mark.parametrize(
    ("start", "end"), [("-infinity", "infinity"), ("-infinity", None), ("now", "infinity")]
)
def test_coach_cannot_book_an_endless_lesson(pg, coach, start, end):
    client = make_client(pg, coach)
    lesson_type = make_lesson_type(pg, coach)
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        c.execute(
            "select create_lesson_with_participants(p_client_ids => %s,"
            " p_start_time => %s, p_end_time => %s, p_lesson_type_id => %s)",
            ([client], start, end, lesson_type),
        )
    assert count(pg, "lessons") == 0
    assert count(pg, "lesson_participants") == 0


def test_infinite_times_are_refused_everywhere(pg, coach):
    client = make_client(pg, coach)
    lesson = book(pg, coach, [client], NOW + hours(20))
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        rpc_one(c, "update_lesson", p_lesson_id=lesson["id"], p_end_time="infinity")
    with raises_sql("CB002", "invalid_argument"), pg.as_coach(coach) as c:
        c.execute(
            "select * from create_recurring_lessons(p_client_ids => %s, p_first_start_time"
            " => 'infinity', p_duration_minutes => 60, p_frequency => 'weekly',"
            " p_occurrences => 3)",
            ([client],),
        )
    with raises_sql("23514"), pg.as_coach(coach) as c:
        c.execute("update lessons set end_time = 'infinity' where id = %s", (lesson["id"],))
    with raises_sql("23514"), pg.as_service() as c:
        c.execute(
            "insert into lessons (coach_id, start_time, end_time) values (%s, '-infinity', now())",
            (coach.id,),
        )
    assert count(pg, "lessons") == 1
    assert count(pg, "recurring_lessons") == 0
    assert scalar(pg, "select isfinite(end_time) from lessons where id = %s", lesson["id"])


def test_coach_cannot_exceed_capacity_by_racing_a_lesson_type_change(pg):
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    duo = make_lesson_type(pg, coach, "Duo", max_participants=2)
    single = make_lesson_type(pg, coach, "Single", max_participants=1)
    lesson = book(pg, coach, [ann], NOW + hours(48), lesson_type_id=duo)
    first, second = Session(pg, coach.principal), Session(pg, coach.principal)
    try:
        first.conn.execute(
            "update lessons set lesson_type_id = %s where id = %s", (single, lesson["id"])
        )
        thread, out = run_in_thread(
            lambda: (
                second.conn.execute(
                    "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
                    (lesson["id"], bob),
                ),
                second.conn.execute("commit"),
            )
        )
        wait_until_blocked(pg, second.pid)
        first.conn.execute("commit")
        thread.join(10)
    finally:
        first.close()
        second.close()
    # read committed: the insert waited for the type change, then saw the new limit
    assert getattr(out.get("error"), "sqlstate", None) == "CB004"
    max_participants = scalar(
        pg,
        "select lt.max_participants from lessons l join lesson_types lt"
        " on lt.id = l.lesson_type_id where l.id = %s",
        lesson["id"],
    )
    assert max_participants == 1
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 1


def _race_at(pg, coach, isolation, lesson_id, first_client, second_client):
    insert = "insert into lesson_participants (lesson_id, client_id) values (%s, %s)"
    conns = []
    try:
        for _ in range(2):
            conn = connect(pg.url, autocommit=True)
            conns.append(conn)
            conn.execute(f"begin isolation level {isolation}")
            impersonate(conn, coach.principal)
        row = conns[1].execute("select pg_backend_pid()").fetchone()
        assert row is not None
        conns[0].execute(insert, (lesson_id, first_client))
        thread, out = run_in_thread(
            lambda: (
                conns[1].execute(insert, (lesson_id, second_client)),
                conns[1].execute("commit"),
            )
        )
        wait_until_blocked(pg, int(row[0]))
        conns[0].execute("commit")
        thread.join(10)
        return out
    finally:
        for conn in conns:
            conn.close()


@pytest.mark.parametrize(
    ("isolation", "sqlstate"),
    [("repeatable read", "40001"), ("serializable", "40001"), ("read committed", "CB004")],
)
def test_coach_cannot_exceed_capacity_whatever_the_isolation_level(pg, isolation, sqlstate):
    coach = pg.sign_up()
    ann, bob, cid = (make_client(pg, coach, n) for n in ("Ann", "Bob", "Cid"))
    duo = make_lesson_type(pg, coach, "Duo", max_participants=2)
    lesson = book(pg, coach, [ann], NOW + hours(48), lesson_type_id=duo)
    out = _race_at(pg, coach, isolation, lesson["id"], bob, cid)
    assert getattr(out.get("error"), "sqlstate", None) == sqlstate
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 2


def test_type_change_racing_an_insert_under_repeatable_read_conflicts(pg):
    coach = pg.sign_up()
    ann, bob = make_client(pg, coach, "Ann"), make_client(pg, coach, "Bob")
    duo = make_lesson_type(pg, coach, "Duo", max_participants=2)
    single = make_lesson_type(pg, coach, "Single", max_participants=1)
    lesson = book(pg, coach, [ann], NOW + hours(48), lesson_type_id=duo)
    conns = []
    try:
        for _ in range(2):
            conn = connect(pg.url, autocommit=True)
            conns.append(conn)
            conn.execute("begin isolation level repeatable read")
            impersonate(conn, coach.principal)
        row = conns[1].execute("select pg_backend_pid()").fetchone()
        assert row is not None
        conns[0].execute(
            "insert into lesson_participants (lesson_id, client_id) values (%s, %s)",
            (lesson["id"], bob),
        )
        thread, out = run_in_thread(
            lambda: (
                conns[1].execute(
                    "update lessons set lesson_type_id = %s where id = %s", (single, lesson["id"])
                ),
                conns[1].execute("commit"),
            )
        )
        wait_until_blocked(pg, int(row[0]))
        conns[0].execute("commit")
        thread.join(10)
    finally:
        for conn in conns:
            conn.close()
    assert getattr(out.get("error"), "sqlstate", None) in ("40001", "CB004")
    assert scalar(pg, "select lesson_type_id from lessons where id = %s", lesson["id"]) == duo
    assert count(pg, "lesson_participants", "lesson_id = %s", lesson["id"]) == 2

"""public.idempotent_write: one write per key, and no way around the caller's rights.

The function runs as its caller (SECURITY INVOKER) and builds its statements
from names it is given; each test tries to use it to do what the caller
could not do through PostgREST, or to reach another user's keys.
"""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb

from tests.sql.conftest import (
    Session,
    count,
    make_client,
    raises_sql,
    run_in_thread,
    scalar,
    wait_until_blocked,
)


def idempotent(conn, key, write):
    row = conn.execute("select public.idempotent_write(%s, %s)", (key, Jsonb(write))).fetchone()
    return row[0]


@pytest.fixture
def coach(pg):
    return pg.sign_up()


@pytest.fixture
def rival(pg):
    return pg.sign_up()


def test_the_same_key_and_write_answers_the_first_result_and_writes_once(pg, coach):
    write = {"insert": "clients", "values": {"first_name": "Ann"}}
    with pg.as_coach(coach) as conn:
        first = idempotent(conn, "k", write)
    with pg.as_coach(coach) as conn:
        again = idempotent(conn, "k", write)

    assert again == first
    assert count(pg, "clients", "coach_id = %s", coach.id) == 1


def test_the_same_key_with_another_write_is_cb014(pg, coach):
    with pg.as_coach(coach) as conn:
        idempotent(conn, "k", {"insert": "clients", "values": {"first_name": "Ann"}})

    with raises_sql("CB014", "idempotency_mismatch"), pg.as_coach(coach) as conn:
        idempotent(conn, "k", {"insert": "clients", "values": {"first_name": "Bob"}})


def test_another_coachs_key_is_not_seen_and_its_result_not_replayed(pg, coach, rival):
    with pg.as_coach(coach) as conn:
        idempotent(conn, "k", {"insert": "clients", "values": {"first_name": "Ann"}})
    with pg.as_coach(rival) as conn:
        theirs = idempotent(conn, "k", {"insert": "clients", "values": {"first_name": "Ann"}})
        visible = conn.execute("select count(*) from private.idempotency_keys").fetchone()[0]

    assert theirs[0]["coach_id"] == str(rival.id)
    assert visible == 1  # its own key only


def test_a_coach_can_not_claim_a_key_in_another_users_name(pg, coach, rival):
    with raises_sql("42501"), pg.as_coach(coach) as conn:
        conn.execute(
            "insert into private.idempotency_keys (owner, key, fingerprint) values (%s, 'k', 'x')",
            (str(rival.id),),
        )


def test_anon_has_no_keys(pg):
    with raises_sql("42501"), pg.as_anon() as conn:
        idempotent(conn, "k", {"insert": "clients", "values": {"first_name": "Ann"}})


def test_it_grants_no_privilege_the_caller_lacks(pg, coach):
    client = make_client(pg, coach)
    payment = {"client_id": str(client), "amount_cents": 100, "method": "cash"}
    with raises_sql("42501"), pg.as_coach(coach) as conn:
        idempotent(
            conn, "k", {"insert": "payments", "values": {**payment, "coach_id": str(coach.id)}}
        )
    with raises_sql("42501"), pg.as_coach(coach) as conn:
        idempotent(conn, "k2", {"delete": "audit_log", "filters": []})


def test_row_level_security_still_hides_another_coachs_rows(pg, coach, rival):
    theirs = make_client(pg, rival, "Zed")
    filters = [{"column": "id", "op": "eq", "value": str(theirs)}]

    with pg.as_coach(coach) as conn:
        deleted = idempotent(conn, "k", {"delete": "clients", "filters": filters})

    assert deleted == []
    assert count(pg, "clients", "id = %s", theirs) == 1


@pytest.mark.parametrize(
    ("write", "sqlstate"),
    [
        ({"insert": "clients\" (first_name) values ('x'); --", "values": {"a": 1}}, "42P01"),
        (
            {
                "delete": "clients",
                "filters": [{"column": "id = id or true --", "op": "eq", "value": 1}],
            },
            "42703",
        ),
        (
            {
                "delete": "clients",
                "filters": [{"column": "id", "op": "; drop table x", "value": 1}],
            },
            "CB002",
        ),
        (
            {"delete": "clients", "filters": [{"column": "id", "op": "is", "value": "null; --"}]},
            "CB002",
        ),
        ({"rpc": "idempotent_write", "params": {"p_key": "x", "p_write": {}}}, "CB002"),
        ({"rpc": "pg_sleep", "params": {}}, "42883"),
        ({"rpc": "set_config", "params": {"setting_name": "role", "new_value": "x"}}, "42883"),
        ({"rpc": "pg_catalog.set_config", "params": {}}, "42883"),
        ({"update": "pg_catalog.pg_authid", "values": {"rolsuper": True}}, "42P01"),
        ({"rpc": "cancel_lesson", "params": {"p_lesson_id": "x", "evil": "1"}}, "42883"),
        ({"truncate": "clients"}, "CB002"),
    ],
)
def test_hostile_names_are_refused_and_change_nothing(pg, coach, write, sqlstate):
    make_client(pg, coach)

    with raises_sql(sqlstate), pg.as_coach(coach) as conn:
        idempotent(conn, "k", write)

    assert count(pg, "clients", "coach_id = %s", coach.id) == 1
    assert scalar(pg, "select count(*) from private.idempotency_keys") == 0


def test_a_second_request_with_the_key_waits_for_the_first_and_replays_it(pg, coach):
    write = {"insert": "clients", "values": {"first_name": "Ann"}}
    first = Session(pg, coach.principal)
    first_result = idempotent(first.conn, "k", write)  # claimed, not yet committed
    second = Session(pg, coach.principal)
    thread, out = run_in_thread(lambda: idempotent(second.conn, "k", write))
    wait_until_blocked(pg, second.pid)

    first.conn.execute("commit")
    thread.join(5)
    second.conn.execute("commit")
    first.close()
    second.close()

    assert out["result"] == first_result
    assert count(pg, "clients", "coach_id = %s", coach.id) == 1


def test_the_helpers_are_executable_by_no_one_but_the_api_roles_that_write(pg):
    denied = scalar(
        pg,
        "select count(*) from pg_proc p where p.proname in"
        " ('idempotent_write', 'call_function', 'write_rows')"
        " and (has_function_privilege('anon', p.oid, 'execute')"
        " or has_function_privilege('public', p.oid, 'execute'))",
    )
    assert denied == 0

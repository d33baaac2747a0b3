"""The direct gateway impersonates exactly as PostgREST does, one transaction per request."""

from __future__ import annotations

import uuid

import pytest

from backend.errors import ContractError, NotFound
from backend.gateway.base import Caller, Delete, Rpc, Select, Update, eq
from backend.gateway.direct import DirectGateway
from backend.observability import request_scope


@pytest.fixture
def gateway(pg):
    pg.admin.execute(
        """
        create function public.test_request_state() returns jsonb
        language sql stable set search_path = '' as $$
            select pg_catalog.jsonb_build_object(
                'user', current_user,
                'claims', auth.jwt(),
                'uid', auth.uid(),
                'method', pg_catalog.current_setting('request.method', true),
                'path', pg_catalog.current_setting('request.path', true),
                'headers', pg_catalog.current_setting('request.headers', true)::jsonb,
                'read_only', pg_catalog.current_setting('transaction_read_only'))
        $$;
        grant execute on function public.test_request_state() to anon, authenticated;
        create function public.test_auth_role() returns text
        language sql stable set search_path = '' as $$ select auth.role() $$;
        grant execute on function public.test_auth_role() to anon, authenticated;
        -- What a careless function may do: leave session-level settings behind.
        create function public.test_leave_identity(p_sub text) returns void
        language sql volatile set search_path = '' as $$
            select pg_catalog.set_config('request.jwt.claim.sub', p_sub, false),
                   pg_catalog.set_config('request.jwt.claim.role', 'service_role', false),
                   pg_catalog.set_config('request.jwt.claim.email', 'b@example.test', false),
                   pg_catalog.set_config(
                       'request.jwt.claim', '{"sub": "' || p_sub || '"}', false)
        $$;
        grant execute on function public.test_leave_identity(text) to anon, authenticated;
        create view public.test_transaction_state with (security_invoker = true) as
            select current_user as who,
                   pg_catalog.current_setting('transaction_read_only') as read_only,
                   pg_catalog.current_setting('statement_timeout') as statement_timeout,
                   pg_catalog.current_setting('request.method', true) as method;
        grant select on public.test_transaction_state to anon, authenticated;
        """
    )
    with DirectGateway(pg.url, max_size=2) as gw:
        yield gw


@pytest.fixture
def coach(pg):
    return pg.sign_up()


def state(gateway, caller):
    return gateway.session(caller).execute(Rpc("test_request_state", {}, returns="scalar"))


def test_a_user_runs_as_authenticated_with_the_full_claim_set(gateway, coach):
    caller = Caller.user(coach.id, email=coach.email, claims={"session_id": "s-1", "aal": "aal1"})

    seen = state(gateway, caller)

    assert seen["user"] == "authenticated" and seen["uid"] == str(coach.id)
    assert {k: seen["claims"][k] for k in ("role", "sub", "aud", "email", "session_id")} == {
        "role": "authenticated",
        "sub": str(coach.id),
        "aud": "authenticated",
        "email": coach.email,
        "session_id": "s-1",
    }


def test_the_request_method_path_and_request_id_are_set_as_postgrest_does(gateway, coach):
    with request_scope("req-direct-1"):
        seen = state(gateway, Caller.user(coach.id))

    assert (seen["method"], seen["path"]) == ("POST", "/rpc/test_request_state")
    assert seen["headers"] == {"x-request-id": "req-direct-1"}


def test_an_anonymous_caller_sees_only_the_role_claim(gateway):
    seen = state(gateway, Caller.anon())

    assert (seen["user"], seen["claims"], seen["uid"]) == ("anon", {"role": "anon"}, None)


def test_reads_run_read_only_with_the_roles_own_statement_timeout(gateway, coach):
    [row] = gateway.session(Caller.user(coach.id)).execute(Select("test_transaction_state"))

    assert row == {
        "who": "authenticated",
        "read_only": "on",
        "statement_timeout": "8s",
        "method": "GET",
    }


def test_anon_gets_anons_shorter_statement_timeout(gateway):
    [row] = gateway.session(Caller.anon()).execute(Select("test_transaction_state"))

    assert (row["who"], row["statement_timeout"]) == ("anon", "3s")


def test_writes_run_read_write(gateway, coach):
    assert state(gateway, Caller.user(coach.id))["read_only"] == "off"


def test_an_unknown_function_is_a_contract_error_naming_it(gateway, coach):
    with pytest.raises(ContractError, match="cancel_lessons"):
        gateway.session(Caller.user(coach.id)).execute(Rpc("cancel_lessons", {"p_id": "x"}))


def test_update_and_delete_that_touch_nothing_are_not_found(gateway, coach):
    session = gateway.session(Caller.user(coach.id))
    missing = (eq("id", uuid.uuid4()),)

    with pytest.raises(NotFound):
        session.execute(Update("clients", {"notes": "x"}, missing))
    with pytest.raises(NotFound):
        session.execute(Delete("clients", missing))


# --- nothing left on a pooled connection can name the caller -----------------------------


def _leave_session_identity(gateway, user_id):
    """A request whose function calls set_config(…, false) on the connection it runs on."""
    gateway.session(Caller.anon()).execute(
        Rpc("test_leave_identity", {"p_sub": str(user_id)}, returns="scalar")
    )


def test_a_session_level_claim_sub_on_a_shared_pool_does_not_become_the_caller(pg, gateway):
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    other = uuid.uuid4()
    pool = ConnectionPool(
        pg.url, min_size=1, max_size=1, kwargs={"row_factory": dict_row}, open=True
    )
    try:
        shared = DirectGateway(pg.url, pool=pool)  # a pool this package did not configure
        with pool.connection() as conn:
            conn.execute("select set_config('request.jwt.claim.sub', %s, false)", (str(other),))
            conn.execute("select set_config('request.jwt.claim.role', 'service_role', false)")
            conn.execute("select set_config('request.jwt.claim', '{\"sub\": \"x\"}', false)")
        me = uuid.uuid4()

        mine = state(shared, Caller.user(me))
        anon = state(shared, Caller.anon())

        assert mine["uid"] == str(me) and mine["claims"]["sub"] == str(me)
        assert (anon["uid"], anon["claims"]) == (None, {"role": "anon"})
        assert (
            shared.session(Caller.user(me)).execute(Rpc("test_auth_role", {}, returns="scalar"))
            == "authenticated"
        )
    finally:
        pool.close()


def test_a_setting_a_function_leaves_does_not_outlive_its_request(pg, gateway):
    with DirectGateway(pg.url, min_size=1, max_size=1) as one:
        state(one, Caller.anon())
        _leave_session_identity(one, uuid.uuid4())
        with one._pool.connection() as conn:
            left = conn.execute(
                "select current_setting('request.jwt.claim.sub', true) as sub,"
                " current_setting('request.jwt.claim.role', true) as role"
            ).fetchone()
            conn.commit()

        assert (left["sub"] or "", left["role"] or "") == ("", "")
        for _ in range(7):  # past psycopg's prepare threshold: prepared statements survive
            assert state(one, Caller.anon())["user"] == "anon"


def test_a_setting_a_function_leaves_does_not_outlive_its_async_request(pg, gateway):
    import asyncio

    from backend.gateway.direct import AsyncDirectGateway

    async def main() -> None:
        agw = AsyncDirectGateway(pg.url, min_size=1, max_size=1)
        try:
            anon = agw.session(Caller.anon())
            await anon.execute(Rpc("test_request_state", {}, returns="scalar"))
            await anon.execute(Rpc("test_leave_identity", {"p_sub": "x"}, returns="scalar"))
            async with agw._pool.connection() as conn:
                cur = await conn.execute(
                    "select current_setting('request.jwt.claim.sub', true) as s"
                )
                left = await cur.fetchone()
                await conn.commit()
            assert left["s"] in (None, "")
            for _ in range(7):  # past psycopg's prepare threshold: prepared statements survive
                seen = await anon.execute(Rpc("test_request_state", {}, returns="scalar"))
                assert seen["user"] == "anon"
        finally:
            await agw.close()

    asyncio.run(main())


def test_prepared_statements_survive_the_reset(gateway, coach):
    for _ in range(8):  # psycopg prepares a statement from its fifth run
        assert state(gateway, Caller.user(coach.id))["uid"] == str(coach.id)


# --- the role claim is the role set, never one passed in ---------------------------------


@pytest.mark.parametrize("claim", ["role", "aud"])
def test_a_users_claims_may_not_set_role_or_aud(claim):
    from backend.db.impersonation import Principal

    with pytest.raises(ValueError, match=claim):
        Caller.user(uuid.uuid4(), claims={claim: "service_role"})
    with pytest.raises(ValueError, match=claim):
        Principal.user(uuid.uuid4(), **{claim: "service_role"})


def test_passed_in_claims_can_not_override_the_role_claim(gateway):
    from backend.db.impersonation import Principal

    principal = Principal("authenticated", {"sub": str(uuid.uuid4()), "role": "service_role"})

    seen = state(gateway, Caller(principal))

    assert (seen["user"], seen["claims"]["role"]) == ("authenticated", "authenticated")
    assert (
        gateway.session(Caller(principal)).execute(Rpc("test_auth_role", {}, returns="scalar"))
        == "authenticated"
    )


def test_a_connection_dropped_while_idle_is_replaced_before_a_request_uses_it(
    pg, gateway, monkeypatch
):
    import backend.gateway.direct as direct

    with DirectGateway(pg.url, min_size=1, max_size=1) as one:
        first = one.session(Caller.anon()).execute(
            Select("test_transaction_state", (), single=True)
        )
        with one._pool.connection() as conn:
            pid = conn.info.backend_pid
        pg.admin.execute("select pg_terminate_backend(%s)", (pid,))
        monkeypatch.setattr(direct, "IDLE_CHECK_SECONDS", 0.0)

        again = one.session(Caller.anon()).execute(
            Select("test_transaction_state", (), single=True)
        )

        assert first["who"] == again["who"] == "anon"
        with one._pool.connection() as conn:
            assert conn.info.backend_pid != pid


def test_sql_text_is_composed_once_per_request_shape(gateway):
    from backend.gateway.base import Filter

    statements = gateway._statements
    two = Select("clients", (Filter("id", "in", ["a", "b"]), eq("is_active", True)))
    other_two = Select("clients", (Filter("id", "in", ["c", "d"]), eq("is_active", False)))
    three = Select("clients", (Filter("id", "in", ["a", "b", "c"]), eq("is_active", True)))

    first, first_values = statements.compile(two, None)
    second, second_values = statements.compile(other_two, None)
    third, _ = statements.compile(three, None)

    assert second is first and third is not first
    assert (first_values, second_values) == (["a", "b", True], ["c", "d", False])


def test_a_deferred_trigger_still_runs_as_the_caller_with_its_claims(pg, gateway):
    from backend.gateway.base import Insert

    pg.admin.execute(
        """
        create table public.test_deferred (id int primary key);
        create table public.test_deferred_seen (who text);
        grant insert, select on public.test_deferred to anon;
        grant insert on public.test_deferred_seen to anon;
        create function public.test_note_who() returns trigger
        language plpgsql set search_path = '' as $$
        begin
            insert into public.test_deferred_seen
            values (current_user || ' ' || pg_catalog.current_setting('request.jwt.claims', true));
            return null;
        end $$;
        create constraint trigger test_note_who after insert on public.test_deferred
        deferrable initially deferred for each row execute function public.test_note_who();
        """
    )

    gateway.session(Caller.anon()).execute(Insert("test_deferred", {"id": 1}))

    seen = pg.admin.execute("select who from public.test_deferred_seen").fetchall()
    assert seen == [('anon {"role": "anon"}',)]

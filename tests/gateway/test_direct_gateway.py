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

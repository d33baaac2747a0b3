"""Every function of the exposed schema is called as coach A (with B's ids) and as anon.

What the catalog says a role may not execute must be refused by the privilege
check when called (42501); what anon may execute must be declared public.
"""

from __future__ import annotations

from typing import Any

from backend.audit.catalog import read_catalog
from backend.audit.config import load_config
from backend.audit.prover import prove_isolation
from backend.audit.prover.probe import Outcome
from backend.audit.prover.rpc import _denied_execute
from backend.db.connect import connect
from tests.audit.conftest import PROJECT_CONFIG, audit_planted, reported
from tests.audit.plants import SERVICE_RENAME_CLIENT, SETTLE, SETTLE_OBJECT

SERVICE_RENAME = "public.planted_service_rename(p_client_id uuid, p_first_name text)"


def _cells(proof: Any, obj: str) -> dict[str, str]:
    return {what: result for o, _, what, result in proof.cells if o == obj}


def _prove(url: str, focus: list[str] | None = None) -> tuple[Any, list[str]]:
    lines: list[str] = []
    with connect(url) as conn:
        config = load_config(PROJECT_CONFIG)
        with conn.transaction(force_rollback=True):
            catalog = read_catalog(conn, config)
        proof = prove_isolation(conn, catalog, progress=lines.append, focus=focus)
    return proof, lines


def test_every_function_of_the_project_is_called_by_coach_a_and_anon(pg):
    functions = pg.admin.execute(
        "select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'public' and p.prokind = 'f'"
        " and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype)"
        " and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass"
        " and d.objid = p.oid and d.deptype = 'e')"
    ).fetchone()[0]
    proof, lines = _prove(pg.url)
    assert proof.findings == []
    assert proof.functions == functions >= 9
    rpc = [line for line in lines if line.startswith("dynamic: rpc ")]
    assert len(rpc) == functions
    assert (
        "dynamic: rpc settle_stripe_checkout: coach A: refused (42501); anon: refused (42501)"
        in rpc
    )
    for line in rpc:
        assert "anon: refused (42501)" in line, line
    cells = _cells(proof, SETTLE_OBJECT)
    assert cells == {
        "coach A: call with coach B's ids": "refused (42501)",
        "anon: call with coach B's ids": "refused (42501)",
    }


def test_service_only_function_is_refused_to_coach_a_and_anon_when_called(planted, config_with):
    planted.execute(SERVICE_RENAME_CLIENT)
    result = audit_planted(
        planted, config_with(), dynamic=True, focus=["public.planted_service_rename"]
    )
    assert [f for f in result.findings if "planted_service_rename" in f.object] == []
    assert {what: r for o, _, what, r in result.matrix if o == SERVICE_RENAME} == {
        "coach A: call with coach B's ids": "refused (42501)",
        "anon: call with coach B's ids": "refused (42501)",
    }


def test_function_declared_public_may_be_executed_by_anon(planted, config_with):
    planted.execute(f"grant execute on function {SETTLE}(text, text, text, bigint) to anon;")
    config = config_with('[functions.settle_stripe_checkout]\naccess = "public"\n')
    result = audit_planted(planted, config, dynamic=True, focus=[SETTLE])
    assert reported(result, "function_executable_by_anon") == []
    assert reported(result, "rpc_cross_tenant") == []


def test_function_declared_public_is_still_checked_for_leaks(planted, config_with):
    planted.execute(
        SERVICE_RENAME_CLIENT
        + "grant execute on function public.planted_service_rename(uuid, text) to anon;"
    )
    config = config_with('[functions.planted_service_rename]\naccess = "public"\n')
    result = audit_planted(planted, config, dynamic=True, focus=["public.planted_service_rename"])
    assert reported(result, "function_executable_by_anon") == []
    messages = [f.message for f in result.findings if f.rule == "rpc_cross_tenant"]
    assert any(m.startswith("anon called planted_service_rename") for m in messages), messages


def test_functions_with_unnamed_or_variadic_parameters_are_called_too(planted, config_with):
    planted.execute(
        "create function public.planted_unnamed(uuid, text) returns integer language sql"
        " set search_path = '' as 'select 1';"
        " create function public.planted_variadic(p_ids variadic uuid[]) returns integer"
        " language sql set search_path = '' as 'select 1';"
        " revoke execute on function public.planted_unnamed(uuid, text) from public, anon;"
        " revoke execute on function public.planted_variadic(uuid[]) from public, anon;"
        " grant execute on function public.planted_unnamed(uuid, text) to authenticated;"
    )
    result = audit_planted(
        planted,
        config_with(),
        dynamic=True,
        focus=["public.planted_unnamed", "public.planted_variadic"],
    )
    cells = {(o, what): r for o, _, what, r in result.matrix}
    assert cells[("public.planted_unnamed(uuid, text)", "anon: call with coach B's ids")] == (
        "refused (42501)"
    )
    variadic = "public.planted_variadic(VARIADIC p_ids uuid[])"
    assert cells[(variadic, "anon: call with coach B's ids")] == "refused (42501)"
    assert cells[(variadic, "coach A: call with coach B's ids")] == "refused (42501)"
    assert cells[("public.planted_unnamed(uuid, text)", "coach A: call with coach B's ids")] == (
        "harmless"
    )


def test_only_the_privilege_checks_own_refusal_proves_a_denied_execute():
    assert _denied_execute(
        Outcome(0, "permission denied for function settle_stripe_checkout", "42501")
    )
    # a function body raising 42501 itself ran: the role could execute it
    assert not _denied_execute(Outcome(0, "not your client", "42501"))
    assert not _denied_execute(Outcome(0, "function does not exist", "42883"))
    assert not _denied_execute(Outcome(1))

"""Definer objects outside the exposed schemas, reached from the API, judged as if exposed.

Each planted private object is first shown to hand coach B's note to coach A
by a direct call (the grants the exposed object needs make it callable by
SQL), then the audit must name it as a leak with where it is reached from;
the near-misses (a private definer object nothing exposed reaches, one that
checks its caller) are not reported.
"""

from __future__ import annotations

from typing import Any

import psycopg

from backend.audit.findings import Finding
from backend.audit.reach import reachable_definers
from tests.audit.adversary import coach, run_as, two_coaches
from tests.audit.conftest import audit_planted
from tests.audit.plants import NOTES

LEAKS = {"isolation_leak", "rpc_cross_tenant"}


def _leaks(findings: list[Finding], obj: str) -> list[str]:
    return [f.message for f in findings if f.rule in LEAKS and f.object == obj]


def _probe(conn: psycopg.Connection[Any], attack: str) -> Any:
    with conn.transaction(force_rollback=True):
        who = two_coaches(conn)
        conn.execute(
            "insert into public.planted_notes (coach_id, body) values (%s, 'victim secret')",
            (who.victim,),
        )
        return run_as(conn, coach(who.attacker), attack.format(victim=who.victim))


NOTES_OF = """
create function private.planted_notes_of(p_coach_id uuid) returns setof public.planted_notes
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select * from public.planted_notes where coach_id = p_coach_id
$$;
revoke execute on function private.planted_notes_of(uuid) from public, anon;
grant execute on function private.planted_notes_of(uuid) to authenticated;
"""
MY_NOTES = """
create function public.planted_my_notes() returns setof public.planted_notes
language sql stable set search_path = pg_catalog, pg_temp as $$
    select * from private.planted_notes_of((select auth.uid()))
$$;
revoke execute on function public.planted_my_notes() from public, anon;
grant execute on function public.planted_my_notes() to authenticated;
"""
NOTES_OF_OBJ = "private.planted_notes_of(p_coach_id uuid)"


def test_private_definer_function_reached_from_an_exposed_function_is_judged(planted, config_with):
    planted.execute(NOTES + NOTES_OF + MY_NOTES)
    assert _probe(planted, "select count(*) from public.planted_my_notes()") == [(0,)]
    leaked = _probe(planted, "select body from private.planted_notes_of('{victim}')")
    assert leaked == [("victim secret",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_my_notes"])
    messages = _leaks(result.findings, NOTES_OF_OBJ)
    assert any(
        "reached from public.planted_my_notes(): judged as if exposed" in m for m in messages
    ), [(f.rule, f.object, f.message) for f in result.findings]
    assert _leaks(result.findings, "public.planted_my_notes()") == []


ALL_NOTES = """
create view private.planted_all_notes as select id, coach_id, body from public.planted_notes;
grant select on private.planted_all_notes to authenticated;
create view public.planted_note_list with (security_invoker = true) as
    select id, body from private.planted_all_notes where coach_id = (select auth.uid());
grant select on public.planted_note_list to authenticated;
"""


def test_private_definer_view_reached_from_an_exposed_view_is_judged(planted, config_with):
    planted.execute(NOTES + ALL_NOTES)
    assert _probe(planted, "select count(*) from public.planted_note_list") == [(0,)]
    assert _probe(planted, "select body from private.planted_all_notes") == [("victim secret",)]
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_note_list"])
    messages = _leaks(result.findings, "private.planted_all_notes")
    assert any(
        "coach A reads coach B's data through view private.planted_all_notes (not exposed, but"
        " reached from public.planted_note_list" in m
        for m in messages
    ), [(f.rule, f.object, f.message) for f in result.findings]


def test_private_definer_function_reached_through_a_policy_is_found(planted):
    planted.execute(
        NOTES + NOTES_OF + "create policy planted_notes_shared on public.planted_notes"
        " for select to authenticated using (exists (select from"
        " private.planted_notes_of((select auth.uid())) as n where n.id = planted_notes.id));"
    )
    reached = {r.qualified: r.via for r in reachable_definers(planted, ["public"])}
    assert reached.get(NOTES_OF_OBJ) == "public.planted_notes"


def test_private_definer_objects_nothing_exposed_reaches_are_not_judged(planted, config_with):
    planted.execute(
        NOTES + NOTES_OF + "revoke execute on function private.planted_notes_of(uuid)"
        " from authenticated;"
    )
    assert NOTES_OF_OBJ not in {r.qualified for r in reachable_definers(planted, ["public"])}
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_notes"])
    assert [f for f in result.findings if "planted_notes_of" in f.object] == []


def test_reached_private_definer_function_that_checks_its_caller_is_not_reported(
    planted, config_with
):
    planted.execute(
        NOTES
        + NOTES_OF.replace(
            "where coach_id = p_coach_id", "where coach_id = p_coach_id and p_coach_id = auth.uid()"
        )
        + MY_NOTES
    )
    assert _probe(planted, "select body from private.planted_notes_of('{victim}')") == []
    result = audit_planted(planted, config_with(), dynamic=True, focus=["public.planted_my_notes"])
    # the general warning about an executable definer function stays; no leak is reported
    assert [(f.rule, f.object) for f in result.findings if "planted_" in f.object] == [
        ("authenticated_security_definer_function_executable", NOTES_OF_OBJ)
    ]
